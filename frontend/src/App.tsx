import { createBrowserRouter, Navigate, RouterProvider } from "react-router";

import { AuthProvider, useAuth } from "./auth/AuthProvider";
import { Loading } from "./components/forms";
import { PublicLayout, SignedInLayout } from "./components/Layout";
import { RequireAuth } from "./components/RequireAuth";
import { AcceptInvitationPage } from "./pages/AcceptInvitation";
import { AuditLogPage } from "./pages/AuditLog";
import { MembersPage } from "./pages/Members";
import { NotFoundPage } from "./pages/NotFound";
import { OrganizationLayout } from "./pages/OrganizationLayout";
import { OrganizationsPage } from "./pages/Organizations";
import { ForgotPasswordPage, ResetPasswordPage } from "./pages/PasswordReset";
import { ProductPage } from "./pages/ProductEditor";
import { ProductsPage } from "./pages/Products";
import { ProfilePage } from "./pages/Profile";
import { SessionsPage } from "./pages/Sessions";
import { SignInPage } from "./pages/SignIn";
import { SignUpPage } from "./pages/SignUp";
import { VerifyEmailPage } from "./pages/VerifyEmail";

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

export function App() {
  return (
    <AuthProvider>
      <RouterProvider router={router} />
    </AuthProvider>
  );
}
