import { useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { getJson, signIn } from '../api';

/** Sign in by pasting an API token: it is checked against the registry, then kept for this tab only. */
export function SignInPage() {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const navigate = useNavigate();
  const [params] = useSearchParams();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setChecking(true);
    setProblem(null);
    try {
      await getJson('/v1/models?limit=1', token.trim());
      signIn(token.trim());
      const next = params.get('next');
      void navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/models', { replace: true });
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setChecking(false);
    }
  }

  return (
    <main className="sign-in">
      <h1>Sign in to Gatehouse</h1>
      <p>
        Paste an API token (an admin mints one with <code>gatehouse tokens create NAME --role ROLE</code>). It is kept in this tab only.
      </p>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={token} onChange={(event) => setToken(event.target.value)} />
        <button type="submit" disabled={checking || token.trim() === ''}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
      </form>
    </main>
  );
}
