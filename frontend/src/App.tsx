import { type QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createBrowserRouter, Navigate, RouterProvider } from "react-router";

import { AuthProvider, useAuth } from "./auth/AuthProvider";
import { AuditLogPage } from "./features/audit/AuditLogPage";
import { ForgotPasswordPage, ResetPasswordPage } from "./features/auth/PasswordResetPages";
import { ProfilePage } from "./features/auth/ProfilePage";
import { SignInPage } from "./features/auth/SignInPage";
import { SignUpPage } from "./features/auth/SignUpPage";
import { VerifyEmailPage } from "./features/auth/VerifyEmailPage";
import { AcceptInvitationPage } from "./features/organizations/AcceptInvitationPage";
import { MembersPage } from "./features/organizations/MembersPage";
import { OrganizationLayout } from "./features/organizations/OrganizationLayout";
import { OrganizationsPage } from "./features/organizations/OrganizationsPage";
import { ProductPage } from "./features/products/ProductPage";
import { ProductsPage } from "./features/products/ProductsPage";
import { SessionsPage } from "./features/sessions/SessionsPage";
import { Loading } from "./shared/forms";
import { PublicLayout, SignedInLayout } from "./shared/Layout";
import { NotFoundPage } from "./shared/NotFoundPage";
import { RequireAuth } from "./shared/RequireAuth";

function Home() {
  const { status } = useAuth();
  if (status === "unknown") return <Loading />;
  return <Navigate to={status === "signed-in" ? "/orgs" : "/signin"} replace />;
}

// Client-side paths never start with an API prefix (/auth, /users, /organizations, …):
// the service answers those itself, so a reload there would show JSON, not the app.
const router = createBrowserRouter([
  { path: "/", element: <Home /> },
  {
    element: <PublicLayout />,
    children: [
      { path: "/signin", element: <SignInPage /> },
      { path: "/signup", element: <SignUpPage /> },
      { path: "/forgot-password", element: <ForgotPasswordPage /> },
      { path: "/reset-password", element: <ResetPasswordPage /> },
      { path: "/verify-email", element: <VerifyEmailPage /> },
      { path: "/accept-invitation", element: <AcceptInvitationPage /> },
    ],
  },
  {
    element: <RequireAuth />,
    children: [
      {
        element: <SignedInLayout />,
        children: [
          { path: "/account", element: <ProfilePage /> },
          { path: "/account/sessions", element: <SessionsPage /> },
          { path: "/orgs", element: <OrganizationsPage /> },
          {
            path: "/orgs/:orgId",
            element: <OrganizationLayout />,
            children: [
              { index: true, element: <Navigate to="products" replace /> },
              { path: "products", element: <ProductsPage /> },
              { path: "products/:productId", element: <ProductPage /> },
              { path: "members", element: <MembersPage /> },
              { path: "audit", element: <AuditLogPage /> },
            ],
          },
        ],
      },
    ],
  },
  { path: "*", element: <NotFoundPage /> },
]);

/** The app under one QueryClient (created once, in main.tsx): the server state of every page. */
export function App({ queryClient }: { queryClient: QueryClient }) {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <RouterProvider router={router} />
      </AuthProvider>
    </QueryClientProvider>
  );
}
