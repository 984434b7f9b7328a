//! The binary as the container runs it, stopped as Docker stops it: SIGTERM.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{empty_database, PASSWORD};

/// `APP_SHUTDOWN_TIMEOUT_SECS` of the server under test: the default, as deployed.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the request stays in flight after SIGTERM: well within the timeout.
const IN_FLIGHT_AFTER_SIGTERM: Duration = Duration::from_millis(2500);

/// `foobar-app serve`, killed when dropped so a failed test leaves no server behind.
struct Server {
    child: Child,
    port: u16,
    /// Its log lines, to show when the test fails.
    log: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the binary on a free port with only the settings given here (no `.env`), and
    /// waits for the line saying it listens: migrations ran, the socket is bound.
    fn start(database_url: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_foobar-app"))
            .arg("serve")
            .env_clear()
            .envs([
                ("DATABASE_URL", database_url),
                ("APP_ADDR", "127.0.0.1:0"),
                ("APP_METRICS_ADDR", "127.0.0.1:0"),
                ("APP_WORKERS", "1"),
                ("APP_REVISION", "test"),
                (
                    "APP_SHUTDOWN_TIMEOUT_SECS",
                    &SHUTDOWN_TIMEOUT.as_secs().to_string(),
                ),
                ("DATABASE_POOL_MIN_IDLE", "0"),
                ("AUTH_HASH_CONCURRENCY", "1"),
                ("RUST_LOG", "info"),
            ])
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start foobar-app");
        // Read on a thread of its own, to the end, so the pipe never fills up.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (lines, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut server = Server {
            child,
            port: 0,
            log,
        };
        // The log is flushed once a second; start-up migrates a fresh database first.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while server.port == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = server
                .log
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no `listening on port` line within 30 s: {seen:#?}"));
            if let Some((_, after)) = line.split_once("listening on port ") {
                server.port = after.split_whitespace().next().unwrap().parse().unwrap();
            }
            seen.push(line);
        }
        server
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill takes plain integers and touches no memory of ours.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM sent");
    }

    /// The exit status, if the process ends within `limit`.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it has logged so far.
    fn log_so_far(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one response off `stream`: its status line and body (`Content-Length` bytes, none
/// without the header).
fn read_response(stream: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    // The server sends nothing more unasked, so nothing was read ahead and lost.
    assert!(reader.buffer().is_empty(), "more than one response");
    Ok((status.trim_end().to_owned(), body))
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_refuses_new_connections_and_exits_0() {
    let Some(database_url) = empty_database() else {
        return;
    };
    let mut server = Server::start(&database_url);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(SHUTDOWN_TIMEOUT * 2)).unwrap();
    // A sign-up (a hash and a write). `100 Continue` says the server has read the head and
    // handles the request: without it, SIGTERM could find the connection idle and close it.
    let body = format!(r#"{{"username": "inflight", "password": "{PASSWORD}"}}"#);
    write!(
        stream,
        "POST /api/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (status, _) = read_response(&mut stream).unwrap();
    assert_eq!(status, "HTTP/1.1 100 Continue");
    // Half the body: the request stays in flight until the rest comes.
    let (sent, rest) = body.split_at(body.len() / 2);
    stream.write_all(sent.as_bytes()).unwrap();

    server.terminate();
    let terminated = Instant::now();

    // The listener closes: new connections are refused while the old one is served.
    let refused = loop {
        match TcpStream::connect_timeout(&server.addr(), Duration::from_secs(1)) {
            Err(err) if err.kind() == ErrorKind::ConnectionRefused => break true,
            _ if terminated.elapsed() > SHUTDOWN_TIMEOUT => break false,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(
        refused,
        "still accepting connections {SHUTDOWN_TIMEOUT:?} after SIGTERM"
    );
    // Held past the shutdown's first checks (actix looks once a second whether connections
    // are left and the timeout is up), so a shorter timeout than configured would show.
    std::thread::sleep(IN_FLIGHT_AFTER_SIGTERM.saturating_sub(terminated.elapsed()));
    let answer = stream
        .write_all(rest.as_bytes())
        .and_then(|()| read_response(&mut stream));

    let (status, body) = answer.unwrap_or_else(|err| {
        panic!(
            "no full response to the request in flight ({err}); log: {:#?}",
            server.log_so_far()
        )
    });
    assert_eq!(status, "HTTP/1.1 201 Created");
    let created: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(created["username"], "inflight");
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0, "then closed");
    let exit = server.wait_for_exit(SHUTDOWN_TIMEOUT.saturating_sub(terminated.elapsed()));
    let log = server.log_so_far();
    let exit = exit
        .unwrap_or_else(|| panic!("still running {SHUTDOWN_TIMEOUT:?} after SIGTERM: {log:#?}"));
    assert_eq!(exit.code(), Some(0), "{log:#?}");
}
