import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, useEffect, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation, useNavigate } from 'react-router';
import { ApiError, currentToken, SIGNED_OUT_EVENT, signOut } from './api';
import { ModelPage } from './pages/model-page';
import { ModelsPage } from './pages/models-page';
import { SignInPage } from './pages/sign-in-page';
import { VersionPage } from './pages/version-page';
import './styles.css';

// A refused request is not retried: the registry's answer is shown as it is.
const queries = new QueryClient({ defaultOptions: { queries: { retry: (count, error) => !(error instanceof ApiError && error.status > 0) && count < 2 } } });

/** Pages behind sign-in; without a token, the sign-in page, which comes back here after. */
function SignedIn({ children }: { children: ReactNode }) {
  const location = useLocation();
  if (!currentToken()) return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return (
    <>
      <header className="top">
        <Link to="/models" className="brand">
          Gatehouse
        </Link>
        <nav aria-label="main">
          <Link to="/models">Models</Link>
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      {children}
    </>
  );
}

/** A sign-out, or a 401 from any request, returns to the sign-in page. */
function ReturnToSignIn() {
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    const signedOut = () => {
      queries.clear();
      void navigate(`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    };
    window.addEventListener(SIGNED_OUT_EVENT, signedOut);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, signedOut);
  }, [navigate, location]);
  return null;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <BrowserRouter>
        <ReturnToSignIn />
        <Routes>
          <Route path="/sign-in" element={<SignInPage />} />
          <Route
            path="/models"
            element={
              <SignedIn>
                <ModelsPage />
              </SignedIn>
            }
          />
          <Route
            path="/models/:name"
            element={
              <SignedIn>
                <ModelPage />
              </SignedIn>
            }
          />
          <Route
            path="/models/:name/versions/:version"
            element={
              <SignedIn>
                <VersionPage />
              </SignedIn>
            }
          />
          <Route path="*" element={<Navigate to="/models" replace />} />
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
