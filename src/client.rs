//! [`Clerk`], the entry point, and [`ClerkBuilder`], its configuration.

use std::{fmt, net::IpAddr, time::Duration};

use reqwest::{Url, header::HeaderValue};

use crate::{
    Error, RateLimit, Result, RetryPolicy,
    generated::{self},
    hooks::{self, Hooks},
    redact::Redactor,
};

/// Where requests go unless configured otherwise (the same root Clerk's own SDKs use).
pub const DEFAULT_BASE_URL: &str = "https://api.clerk.com";
/// How long one request may take, from sending to the last byte of the response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long establishing a connection may take (only for the HTTP client this crate builds).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response body a client reads by default: 32 MiB. A list page of 500 roles with
/// many permissions each is a few MiB; anything far larger is not an answer from Clerk.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// A client for Clerk's organization RBAC endpoints.
///
/// Cheap to clone (clones share one connection pool); build it once and share it.
/// The secret key is never shown by `Debug`.
///
/// ```no_run
/// # async fn demo() -> clerk_rbac::Result<()> {
/// let clerk = clerk_rbac::Clerk::new("sk_test_example")?;
/// let roles = clerk.organization_roles().list().limit(50).send().await?;
/// for role in &roles.data {
///     println!("{} has {} permissions", role.key, role.permissions.len());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Clerk {
    api: generated::Client,
}

impl Clerk {
    /// A client for the production API with this secret key and default settings.
    ///
    /// Fails with [`Error::Config`] if the key is empty or cannot be sent in a header.
    pub fn new(secret_key: impl Into<String>) -> Result<Self> {
        Self::builder().secret_key(secret_key).build()
    }

    /// A client configured from the environment: `CLERK_SECRET_KEY` (required) and
    /// `CLERK_API_URL` (optional, the API root such as `https://api.clerk.com`); see
    /// [`builder_from_env`](Self::builder_from_env) to set more.
    pub fn from_env() -> Result<Self> {
        Self::builder_from_env()?.build()
    }

    /// A configuration that starts from the environment, as [`from_env`](Self::from_env) reads
    /// it: `CLERK_SECRET_KEY` (required) and `CLERK_API_URL` (optional; empty counts as unset).
    ///
    /// ```no_run
    /// let clerk = clerk_rbac::Clerk::builder_from_env()?.clerk_rate_limit().build()?;
    /// # Ok::<(), clerk_rbac::Error>(())
    /// ```
    pub fn builder_from_env() -> Result<ClerkBuilder> {
        let key = std::env::var("CLERK_SECRET_KEY")
            .map_err(|_| Error::Config("CLERK_SECRET_KEY is not set".into()))?;
        let mut builder = Self::builder().secret_key(key);
        if let Some(url) = std::env::var("CLERK_API_URL")
            .ok()
            .filter(|url| !url.is_empty())
        {
            builder = builder.base_url(url);
        }
        Ok(builder)
    }

    /// Starts a configuration with every option.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clerk = clerk_rbac::Clerk::builder()
    ///     .secret_key("sk_test_example")
    ///     .base_url("http://127.0.0.1:8080")
    ///     .timeout(Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), clerk_rbac::Error>(())
    /// ```
    pub fn builder() -> ClerkBuilder {
        ClerkBuilder::default()
    }

    /// The generated client behind this one, for anything the facade does not cover. It sends
    /// the same headers; see [`generated`](crate::generated).
    pub fn generated(&self) -> &generated::Client {
        &self.api
    }
}

/// Configuration for a [`Clerk`] client; see [`Clerk::builder`].
#[derive(Default)]
#[must_use]
pub struct ClerkBuilder {
    secret_key: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    http_client: Option<reqwest::Client>,
    allow_insecure_http: bool,
    retry: Option<RetryPolicy>,
    max_response_bytes: Option<u64>,
    rate_limit: Option<RateLimit>,
    /// Set by [`ClerkBuilder::clerk_rate_limit`]: the limit is picked from the key at `build`.
    rate_limit_for_key: bool,
}

impl fmt::Debug for ClerkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkBuilder")
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("http_client", &self.http_client.is_some())
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("rate_limit", &self.rate_limit)
            .field("rate_limit_for_key", &self.rate_limit_for_key)
            .finish()
    }
}

impl ClerkBuilder {
    /// The instance's secret key (`sk_live_...` or `sk_test_...`). Required.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// The API root, as Clerk's JS SDK takes `apiUrl`: scheme, host, optional port and path
    /// prefix (e.g. `http://127.0.0.1:8080`). A trailing `/` is ignored, and so is a trailing
    /// `/v1` (`https://api.clerk.com/v1` means the same as `https://api.clerk.com`), so that
    /// requests never go to `/v1/v1/...`. Defaults to [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// How long one request may take in all. Defaults to [`DEFAULT_TIMEOUT`] (30 s); applies
    /// to a custom [`http_client`](Self::http_client) too.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long connecting may take. Defaults to [`DEFAULT_CONNECT_TIMEOUT`] (10 s). Ignored
    /// with a custom [`http_client`](Self::http_client), which brings its own.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sends requests through this `reqwest::Client` (proxies, pools, TLS roots of your
    /// choosing). The Clerk headers, the request timeout, retries and the body size limit are
    /// still applied per request; its redirect policy is its own (reqwest's default follows
    /// redirects but drops `Authorization` when one leaves the origin).
    ///
    /// With the default `rustls` feature, the reqwest this crate brings has no crypto provider of
    /// its own (the client this crate builds picks `ring` itself), and reqwest's builder panics
    /// without one. A client you build needs either your own dependency on `reqwest` with its
    /// `rustls` feature, or a provider installed for the process first, such as
    /// `rustls::crypto::ring::default_provider().install_default()`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How failed requests are retried. Defaults to [`RetryPolicy::default()`]: up to 3
    /// attempts with capped exponential back-off, and only when repeating the request cannot
    /// do anything twice. [`RetryPolicy::none()`] turns retrying off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use clerk_rbac::{Clerk, RetryPolicy};
    /// let clerk = Clerk::builder()
    ///     .secret_key("sk_test_example")
    ///     .retry(RetryPolicy::default().max_attempts(5).budget(Duration::from_secs(90)))
    ///     .build()?;
    /// # Ok::<(), clerk_rbac::Error>(())
    /// ```
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The largest response body the client reads, in bytes; a longer one ends the call with
    /// [`Error::ResponseTooLarge`]. Defaults to [`DEFAULT_MAX_RESPONSE_BYTES`] (32 MiB).
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// Paces requests on the client side: no window of `limit.window` holds more than
    /// `limit.requests` of this client's requests (every attempt counts, retries included;
    /// clones of the client share the limit). Off by default.
    ///
    /// Clerk answers 429 past 100 requests per 10 s on development instances and 1,000 on
    /// production ones; [`RateLimit::for_secret_key`] picks the right one, so that a long job
    /// waits for its turn instead of meeting 429s.
    ///
    /// ```
    /// use clerk_rbac::{Clerk, RateLimit};
    /// let key = "sk_test_example";
    /// let clerk = Clerk::builder()
    ///     .secret_key(key)
    ///     .rate_limit(RateLimit::for_secret_key(key))
    ///     .build()?;
    /// # Ok::<(), clerk_rbac::Error>(())
    /// ```
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self.rate_limit_for_key = false;
        self
    }

    /// Paces requests to Clerk's limit for the instance of the configured key:
    /// [`rate_limit`](Self::rate_limit) with [`RateLimit::for_secret_key`], worked out when the
    /// client is built.
    pub fn clerk_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self.rate_limit_for_key = true;
        self
    }

    /// Allows a plain `http://` base URL on a host that is not loopback. Off by default: the
    /// secret key would cross the network in cleartext.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks the configuration and builds the client. Sends nothing.
    pub fn build(self) -> Result<Clerk> {
        let key = self
            .secret_key
            .ok_or_else(|| Error::Config("a secret key is required".into()))?;
        let authorization = authorization_header(&key)?;
        let rate_limit = if self.rate_limit_for_key {
            Some(RateLimit::for_secret_key(&key))
        } else {
            self.rate_limit
        };
        let base = api_root(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.allow_insecure_http,
        )?;
        check_tls(
            &base,
            cfg!(any(feature = "rustls", feature = "native-tls")),
            self.http_client.is_some(),
        )?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let per_request = self.http_client.is_some();
        let http = match self.http_client {
            Some(client) => client,
            // Clerk's API does not redirect, so a redirect is an answer to report, not follow: the
            // key can then never be sent anywhere but the configured origin. The key, user agent
            // and timeout are the client's defaults rather than set on every request.
            None => with_our_tls(reqwest::Client::builder())?
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .timeout(timeout)
                .default_headers(hooks::default_headers(&authorization))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?,
        };
        let hooks = Hooks::new(
            authorization,
            Redactor::new(key.trim()),
            timeout,
            self.retry.unwrap_or_default(),
            self.max_response_bytes
                .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            rate_limit,
            per_request,
        );
        Ok(Clerk {
            api: generated::Client::new_with_client(&base, http, hooks),
        })
    }
}

fn authorization_header(key: &str) -> Result<HeaderValue> {
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::Config("the secret key is empty".into()));
    }
    // The message must not echo the key: it may be a real one with a stray character.
    let mut value = HeaderValue::try_from(format!("Bearer {key}")).map_err(|_| {
        Error::Config("the secret key contains characters that cannot be sent in a header".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `<root>/v1`, after checking that `root` is an absolute http(s) URL fit to carry the key. A
/// root that already ends in `/v1` is taken as meaning the same API root (the `/v1` is not
/// doubled). Messages never repeat credentials or a query the URL may carry.
fn api_root(root: &str, allow_insecure_http: bool) -> Result<String> {
    let url = Url::parse(root.trim()).map_err(|e| {
        Error::Config(format!(
            "base URL `{}` is not a valid URL: {e}",
            shown_url(root)
        ))
    })?;
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(Error::Config(format!(
            "base URL `{}` must not carry a query, fragment or credentials",
            shown_url(root)
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&url) => {}
        "http" => {
            return Err(Error::Config(format!(
                "base URL `{}` is plain http on a non-loopback host; the secret key would \
                 travel in cleartext (use https, or allow_insecure_http(true) if you must)",
                shown_url(root)
            )));
        }
        other => {
            return Err(Error::Config(format!(
                "base URL scheme `{other}` is not http(s)"
            )));
        }
    }
    let root = url.as_str().trim_end_matches('/');
    let root = root.strip_suffix("/v1").unwrap_or(root);
    Ok(format!("{root}/v1"))
}

/// A base URL as it may appear in a message: without anything between `://` and `@`
/// (credentials), and cut before `?` or `#` (a query may carry a token).
fn shown_url(raw: &str) -> String {
    let raw = raw.trim();
    let cut = raw.find(['?', '#']).map_or(raw, |at| &raw[..at]);
    match cut.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => cut
            .rsplit_once('@')
            .map_or(cut, |(_, host)| host)
            .to_owned(),
    }
}

/// With the `rustls` feature, reqwest is built without a crypto provider of its own (its
/// default, aws-lc-rs, is a large C build), so the client this crate builds gets a rustls setup
/// made here: the process-wide default provider if the program installed one, `ring` otherwise;
/// certificates checked by the platform verifier, TLS 1.2 and 1.3, and HTTP/2 or HTTP/1.1 offered
/// by ALPN, which is what reqwest's own rustls setup does. With `native-tls` (alone or alongside
/// `rustls`), reqwest's native TLS is used as before.
#[cfg(all(feature = "rustls", not(feature = "native-tls")))]
fn with_our_tls(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
    Ok(builder.tls_backend_preconfigured(rustls_config()?))
}

/// The rustls configuration behind [`with_our_tls`].
#[cfg(all(feature = "rustls", not(feature = "native-tls")))]
fn rustls_config() -> Result<rustls::ClientConfig> {
    use std::sync::Arc;

    use rustls::crypto::CryptoProvider;

    let failed = |e: rustls::Error| Error::Config(format!("could not set up TLS: {e}"));
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(failed)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = if cfg!(feature = "http2") {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// Without the `rustls` feature (or with `native-tls` too), reqwest's own TLS choice stands.
#[cfg(not(all(feature = "rustls", not(feature = "native-tls"))))]
fn with_our_tls(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
    Ok(builder)
}

/// An https API root needs TLS. Without any TLS feature, reqwest fails every https request as
/// a connection error after the client was built; refusing here says why at once. A caller's own
/// HTTP client may bring TLS of its own, so it is trusted.
fn check_tls(api_root: &str, tls_compiled: bool, custom_client: bool) -> Result<()> {
    if api_root.starts_with("https:") && !tls_compiled && !custom_client {
        return Err(Error::Config(
            "clerk-rbac was built without TLS, so it cannot reach an https base URL: enable its \
             `rustls` (default) or `native-tls` feature, or pass an HTTP client with TLS to \
             `http_client`"
                .into(),
        ));
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_root_appends_v1_once_whatever_the_trailing_slash() {
        assert_eq!(
            api_root("https://api.clerk.com", false).unwrap(),
            "https://api.clerk.com/v1"
        );
        assert_eq!(
            api_root("https://api.clerk.com/", false).unwrap(),
            "https://api.clerk.com/v1"
        );
        assert_eq!(
            api_root("http://127.0.0.1:8080/", false).unwrap(),
            "http://127.0.0.1:8080/v1"
        );
        assert_eq!(
            api_root("https://proxy.example/clerk/", false).unwrap(),
            "https://proxy.example/clerk/v1"
        );
    }

    #[test]
    fn cleartext_http_needs_loopback_or_consent() {
        assert!(api_root("http://localhost:3000", false).is_ok());
        assert!(api_root("http://[::1]:3000", false).is_ok());
        let err = api_root("http://clerk.internal", false).unwrap_err();
        assert!(err.to_string().contains("cleartext"), "{err}");
        assert!(api_root("http://clerk.internal", true).is_ok());
        assert!(api_root("ftp://clerk.internal", true).is_err());
        assert!(api_root("not a url", false).is_err());
        assert!(api_root("https://api.clerk.com/?x=1", false).is_err());
    }

    #[test]
    fn a_root_ending_in_v1_is_not_doubled() {
        for root in [
            "https://api.clerk.com/v1",
            "https://api.clerk.com/v1/",
            "https://api.clerk.com",
        ] {
            assert_eq!(api_root(root, false).unwrap(), "https://api.clerk.com/v1");
        }
        assert_eq!(
            api_root("https://proxy.example/clerk/v1", false).unwrap(),
            "https://proxy.example/clerk/v1"
        );
        // Only a whole last segment counts.
        assert_eq!(
            api_root("https://proxy.example/apiv1", false).unwrap(),
            "https://proxy.example/apiv1/v1"
        );
    }

    #[test]
    fn configuration_errors_never_repeat_credentials_or_queries() {
        for (root, secret) in [
            ("https://user:hunter2@api.clerk.com", "hunter2"),
            ("https://user:hunter2@api.clerk.com/path?x=1", "hunter2"),
            ("https://api.clerk.com/?token=s3cr3t", "s3cr3t"),
            ("https://api.clerk.com/#s3cr3t", "s3cr3t"),
            ("http://user:hunter2@clerk.internal", "hunter2"),
            ("ht tp://user:hunter2@x", "hunter2"),
            ("https://us er:hunter2@host/", "hunter2"),
            ("not a url?token=s3cr3t", "s3cr3t"),
        ] {
            let err = api_root(root, false).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{root}: {err}");
            assert!(!err.to_string().contains(secret), "{root}: {err}");
            assert!(!format!("{err:?}").contains(secret), "{root}: {err:?}");
        }
        assert_eq!(shown_url("https://a:b@h:1/p?q#f"), "https://h:1/p");
    }

    #[test]
    fn https_without_tls_is_refused_when_the_client_is_built() {
        let err = check_tls("https://api.clerk.com/v1", false, false).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("rustls") && message.contains("native-tls"),
            "{message}"
        );
        // TLS compiled in, plain http, or a caller's own client: nothing to refuse.
        assert!(check_tls("https://api.clerk.com/v1", true, false).is_ok());
        assert!(check_tls("http://127.0.0.1:1/v1", false, false).is_ok());
        assert!(check_tls("https://api.clerk.com/v1", false, true).is_ok());
    }

    /// Built without any TLS feature (`cargo test --no-default-features`, which CI runs), the
    /// refusal must come from `build()` itself.
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    #[test]
    fn without_tls_build_refuses_an_https_base_url() {
        let err = Clerk::new("sk_test_x").unwrap_err();
        assert!(err.to_string().contains("without TLS"), "{err}");
        assert!(
            Clerk::builder()
                .secret_key("sk_test_x")
                .base_url("http://127.0.0.1:1")
                .build()
                .is_ok()
        );
    }

    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[test]
    fn with_tls_build_accepts_an_https_base_url() {
        assert!(Clerk::new("sk_test_x").is_ok());
    }

    /// The default client speaks TLS: its first bytes to an https base URL are a TLS
    /// ClientHello offering HTTP/1.1 (and HTTP/2 with the `http2` feature) by ALPN (a loopback
    /// listener reads them, then hangs up, so the call ends in a transport error).
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[tokio::test]
    async fn an_https_base_url_gets_a_tls_client_hello() {
        use tokio::io::AsyncReadExt;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut header = [0u8; 5];
            socket.read_exact(&mut header).await.unwrap();
            let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
            socket.read_exact(&mut body).await.unwrap();
            (header, body)
        });
        let clerk = Clerk::builder()
            .secret_key("sk_test_x")
            .base_url(format!("https://127.0.0.1:{port}"))
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let err = clerk.organization_roles().list().send().await.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
        let (header, body) = server.await.unwrap();
        assert_eq!(header[0], 0x16, "a TLS handshake record");
        assert_eq!(body[0], 0x01, "a ClientHello");
        assert_eq!(client_hello_alpn(&body), expected_alpn());
    }

    /// The protocols offered by the ALPN extension of a ClientHello handshake message.
    fn client_hello_alpn(hello: &[u8]) -> Vec<Vec<u8>> {
        let u16_at = |at: usize| usize::from(u16::from_be_bytes([hello[at], hello[at + 1]]));
        // Type (1), length (3), version (2), random (32), then the session id.
        let mut at = 38;
        at += 1 + usize::from(hello[at]);
        at += 2 + u16_at(at); // cipher suites
        at += 1 + usize::from(hello[at]); // compression methods
        let end = at + 2 + u16_at(at);
        at += 2;
        while at < end {
            let (kind, len) = (u16_at(at), u16_at(at + 2));
            if kind == 0x0010 {
                let mut list = &hello[at + 6..at + 4 + len];
                let mut protocols = Vec::new();
                while let Some((&n, rest)) = list.split_first() {
                    protocols.push(rest[..usize::from(n)].to_vec());
                    list = &rest[usize::from(n)..];
                }
                return protocols;
            }
            at += 4 + len;
        }
        Vec::new()
    }

    /// What the client offers: HTTP/2 first with the `http2` feature, HTTP/1.1 always.
    fn expected_alpn() -> Vec<Vec<u8>> {
        let mut protocols = Vec::new();
        if cfg!(feature = "http2") {
            protocols.push(b"h2".to_vec());
        }
        protocols.push(b"http/1.1".to_vec());
        protocols
    }

    /// Without a process-wide provider, the `rustls` feature's client uses `ring` (whose key
    /// exchange groups differ from aws-lc-rs's, which add a post-quantum hybrid).
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    #[test]
    fn the_rustls_client_uses_ring_unless_a_provider_is_installed() {
        let config = rustls_config().unwrap();
        let names = |groups: &[&'static dyn rustls::crypto::SupportedKxGroup]| {
            groups.iter().map(|g| g.name()).collect::<Vec<_>>()
        };
        // Nothing in this test binary installs a process-wide provider.
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(
            names(&config.crypto_provider().kx_groups),
            names(&ring.kx_groups)
        );
        assert_eq!(config.alpn_protocols, expected_alpn());
    }

    #[test]
    fn the_clerk_rate_limit_is_picked_from_the_key() {
        // A loopback URL, so that the test also runs in a build without TLS.
        let limit = |builder: ClerkBuilder| {
            let clerk = builder.base_url("http://127.0.0.1:1").build().unwrap();
            progenitor_client::ClientInfo::inner(clerk.generated()).rate_limit()
        };
        for (key, expected) in [
            ("sk_live_x", RateLimit::clerk_production()),
            ("sk_test_x", RateLimit::clerk_development()),
        ] {
            let builder = Clerk::builder().secret_key(key).clerk_rate_limit();
            assert_eq!(limit(builder), Some(expected), "{key}");
        }
        // Whichever is set last wins.
        let own = RateLimit::new(5, Duration::from_secs(1));
        let builder = Clerk::builder().secret_key("sk_live_x");
        assert_eq!(limit(builder.clerk_rate_limit().rate_limit(own)), Some(own));
        let builder = Clerk::builder().secret_key("sk_live_x").rate_limit(own);
        assert_eq!(
            limit(builder.clerk_rate_limit()),
            Some(RateLimit::clerk_production())
        );
        assert_eq!(limit(Clerk::builder().secret_key("sk_live_x")), None);
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let err = authorization_header("   ").unwrap_err();
        assert!(matches!(err, Error::Config(_)));
        let err = authorization_header("sk_test_se\nqZ7wv").unwrap_err();
        assert!(!err.to_string().contains("qZ7wv"), "{err}");
        assert!(authorization_header("sk_test_ok").unwrap().is_sensitive());
    }
}
