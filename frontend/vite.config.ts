/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// During `npm run dev` the API runs separately (`./dev serve`, port 8000); the proxy keeps
// every call same-origin, as in production, so the SameSite=Strict cookies still flow.
const API_PREFIXES = ["/auth", "/users", "/organizations", "/invitations", "/permissions", "/audit-events"];
const api = process.env.TENANTRY_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: Object.fromEntries(API_PREFIXES.map((prefix) => [prefix, { target: api }])),
  },
  build: {
    // The service's CSP forbids inline scripts and styles: keep every asset a file.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
  },
});
