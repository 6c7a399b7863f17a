// The SPA under test: @azure/msal-browser as its README shows it, pointed at Gatehouse (the page's
// config.json names the client, the authority and the redirect URI).
(async () => {
  const show = (id, value) => { document.getElementById(id).textContent = value; };
  try {
    const cfg = await (await fetch('/config.json')).json();
    const pca = new msal.PublicClientApplication({
      auth: {
        clientId: cfg.clientId, authority: cfg.authority, knownAuthorities: [cfg.host],
        redirectUri: cfg.redirectUri,
      },
      cache: { cacheLocation: 'sessionStorage' },
    });
    await pca.initialize();
    const result = await pca.handleRedirectPromise();
    if (result) {
      show('result', JSON.stringify({ username: result.account.username, oid: result.idTokenClaims.oid,
        scopes: result.scopes, accessToken: result.accessToken, idToken: result.idToken }));
    }
    document.getElementById('login').onclick = () => pca.loginRedirect({ scopes: ['User.Read'] });
    document.getElementById('logout').onclick = () => pca.logoutRedirect({ postLogoutRedirectUri: cfg.redirectUri });
    document.getElementById('silent').onclick = async () => {
      try {
        const account = pca.getAllAccounts()[0];
        const t = await pca.acquireTokenSilent({ account, scopes: ['User.Read'], forceRefresh: true });
        show('renewed', JSON.stringify({ fromCache: t.fromCache, accessToken: t.accessToken }));
      } catch (e) {
        show('error', `${e.errorCode || e.name}: ${e.message}`);
      }
    };
  } catch (e) {
    show('error', `${e.errorCode || e.name}: ${e.message}`);
  }
})();
