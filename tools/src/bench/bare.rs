//! The ceiling of the static tier: Debian's nginx on the host with a minimal configuration
//! (two workers, no access log, nothing but `root` and `index`) serving a copy of the site's
//! files from a directory of its own, on a free port of 127.0.0.1. Stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use std::{fs, io};

use anyhow::{bail, Context as _, Result};

use crate::stack::checked;
use crate::{repo_root, wait_until, Site};

/// A running bare nginx.
pub struct BareNginx {
    dir: PathBuf,
    pub port: u16,
}

/// Its configuration: what any nginx serving static files needs, and nothing the stack adds
/// (headers, maps, logs, limits, the proxy).
fn config(dir: &Path, port: u16, workers: u32) -> String {
    let dir = dir.display();
    format!(
        "worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 20s;
  client_body_temp_path {dir}/tmp;
  proxy_temp_path {dir}/tmp;
  fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp;
  scgi_temp_path {dir}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {dir}/html;
    index index.html;
  }}
}}
"
    )
}

impl BareNginx {
    /// Starts `nginx` (Debian's, on PATH) with `workers` workers; waits until it answers.
    pub fn start(workers: u32) -> Result<BareNginx> {
        let port = free_port().context("finding a free port on 127.0.0.1")?;
        let dir = std::env::temp_dir().join(format!("foobar-bench-nginx-{}", std::process::id()));
        prepare(&dir, port, workers).with_context(|| format!("preparing {}", dir.display()))?;
        let bare = BareNginx { dir, port };
        let output = Command::new("nginx")
            .args(bare.nginx_args())
            .output()
            .context("starting nginx on the host (install it: apt-get install nginx)")?;
        checked(&output, || "nginx (the bare ceiling)".to_owned())?;
        let url = bare.url();
        // It serves any Host, the site's included.
        let site = Site::new(&url)?;
        let wait = site.wait_for_ok("/", Duration::from_secs(10));
        if !crate::cli::block_on(async { Ok(wait.await) })? {
            bail!("the bare nginx does not answer on {url}");
        }
        Ok(bare)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn nginx_args(&self) -> [String; 4] {
        let dir = self.dir.display();
        [
            "-p".into(),
            format!("{dir}/"),
            "-c".into(),
            format!("{dir}/nginx.conf"),
        ]
    }
}

impl Drop for BareNginx {
    fn drop(&mut self) {
        // Quit at once (SIGTERM): nothing in flight matters any more.
        let _ = Command::new("nginx")
            .args(self.nginx_args())
            .args(["-s", "stop"])
            .output();
        let pid_file = self.dir.join("nginx.pid");
        wait_until(Duration::from_secs(5), || !pid_file.exists());
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The directory: the configuration, a copy of the site's files (readable by nginx's workers,
/// which run as www-data when nginx starts as root), a temp directory.
fn prepare(dir: &Path, port: u16, workers: u32) -> Result<()> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join("tmp"))?;
    fs::create_dir_all(dir.join("html"))?;
    for entry in fs::read_dir(repo_root()?.join("nginx/html"))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs::copy(entry.path(), dir.join("html").join(entry.file_name()))?;
        }
    }
    Ok(fs::write(
        dir.join("nginx.conf"),
        config(dir, port, workers),
    )?)
}

/// A port nothing listens on now (the kernel's pick; nginx binds it a moment later).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
