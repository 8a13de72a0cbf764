//! A loopback HTTP/1.1 server for the benchmarks: it answers every GET with a body prepared in
//! advance, after an optional delay, on kept-alive connections. It runs on its own thread and
//! runtime so that its work and allocations stay apart from the client being measured.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What to answer to one request target (path and query); `None` gives a 404.
pub type Routes = dyn Fn(&str) -> Option<Arc<Vec<u8>>> + Send + Sync;

/// A running server; it lives until the process ends.
pub struct Server {
    addr: SocketAddr,
    latency_micros: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl Server {
    /// Starts serving `routes` on a free loopback port.
    pub fn start(routes: Arc<Routes>) -> Server {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        std_listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = std_listener.local_addr().expect("bound");
        let latency_micros = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let (latency, count) = (latency_micros.clone(), requests.clone());
        thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                    loop {
                        let (socket, _) = listener.accept().await.expect("accept");
                        socket.set_nodelay(true).expect("nodelay");
                        let (routes, latency, count) =
                            (routes.clone(), latency.clone(), count.clone());
                        tokio::spawn(serve_connection(socket, routes, latency, count));
                    }
                });
            })
            .expect("server thread");
        Server {
            addr,
            latency_micros,
            requests,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Delay before each response from now on.
    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.store(micros, Ordering::Relaxed);
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

async fn serve_connection(
    mut socket: TcpStream,
    routes: Arc<Routes>,
    latency: Arc<AtomicU64>,
    count: Arc<AtomicU64>,
) {
    let mut buffer = Vec::with_capacity(4096);
    loop {
        // Read one request head; the benchmarks only send GETs, which have no body.
        let head_end = loop {
            if let Some(end) = find_head_end(&buffer) {
                break end;
            }
            let mut chunk = [0_u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let target = request_target(&buffer[..head_end]).to_owned();
        buffer.drain(..head_end);

        let delay = latency.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_micros(delay)).await;
        }
        let (status, body) = match routes(&target) {
            Some(body) => ("200 OK", body),
            None => ("404 Not Found", Arc::new(br#"{"errors":[]}"#.to_vec())),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        count.fetch_add(1, Ordering::Relaxed);
        if socket.write_all(head.as_bytes()).await.is_err()
            || socket.write_all(&body).await.is_err()
        {
            return;
        }
    }
}

/// Where the blank line that ends a request head stops, if it has arrived.
fn find_head_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// The target of a request line `GET <target> HTTP/1.1`.
fn request_target(head: &[u8]) -> &str {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = std::str::from_utf8(line).unwrap_or_default();
    line.split(' ').nth(1).unwrap_or("/")
}

/// The value of `name` in a request target's query, if present.
pub fn query_value<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = target.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}
