/**
 * The one-time sign-in link: the dashboard's URL with the login token in the fragment
 * (`https://master:7700/#login=…`). A fragment never leaves the browser — no request line, log
 * or Referer carries it — and the dashboard removes it from the address bar once it is used.
 */
const PARAM = 'login';

export function dashboardLoginUrl(baseUrl: string, loginToken: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/#${PARAM}=${encodeURIComponent(loginToken)}`;
}

/** The token of a sign-in link's fragment (`#login=…`), or null. */
export function loginTokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get(PARAM);
  return token !== null && token !== '' ? token : null;
}
