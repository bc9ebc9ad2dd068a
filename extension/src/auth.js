/** "Connect GitHub": the OAuth web flow through chrome.identity and the API's initiate and callback endpoints. */

import { KEYS } from './config.js';

export class SignInError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'SignInError';
    this.code = code;
  }
}

/**
 * Runs in the service worker, so the flow survives the popup closing when the GitHub window
 * takes focus. The `state` the server issued must come back unchanged, or the answer is refused.
 */
export async function signInWithGitHub({ ext, api }) {
  const redirectUri = ext.identity.getRedirectURL('oauth');
  const { oauth_url: oauthUrl, state } = await api.initiateSignIn(redirectUri);
  const responseUrl = await ext.identity.launchWebAuthFlow({ url: oauthUrl, interactive: true });
  if (!responseUrl) throw new SignInError('cancelled', 'Sign-in was cancelled.');

  const params = new URL(responseUrl).searchParams;
  if (params.get('error')) {
    throw new SignInError(params.get('error'), params.get('error_description') || 'GitHub refused the sign-in.');
  }
  if (!state || params.get('state') !== state) {
    throw new SignInError('state_mismatch', 'The sign-in answer did not match this request; try again.');
  }
  const code = params.get('code');
  if (!code) throw new SignInError('missing_code', 'GitHub did not return an authorization code.');

  const result = await api.completeSignIn(code, state);
  const session = { token: result.session_token, user: result.user, expires_at: result.expires_at };
  await ext.storage.local.set({ [KEYS.session]: session });
  return session;
}
