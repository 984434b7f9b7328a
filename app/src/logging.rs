//! Log output. env_logger writes and flushes each line on its own; under load that is one write
//! per request for Docker's log driver to handle, which `make load` measured as the largest
//! cost after the app itself. So lines go to stderr through a buffer flushed once a second,
//! as nginx's access log is (`buffer=64k flush=1s`): a line shows up at most a second late,
//! and a killed process loses at most that second.

use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

const CAPACITY: usize = 64 * 1024;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

type Shared<W> = Arc<Mutex<BufWriter<W>>>;

fn lock<W: Write>(shared: &Shared<W>) -> MutexGuard<'_, BufWriter<W>> {
    // A panic while a line was being written leaves at worst half a line: keep logging.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs env_logger (filter from `RUST_LOG`, else `default_filter`) writing through the
/// buffer. Keep the guard until the end of `main`: dropping it writes out what is left.
pub fn init(default_filter: &str) -> Guard<io::Stderr> {
    let (pipe, guard) = buffered(io::stderr());
    let shared = Arc::clone(&guard.0);
    thread::spawn(move || loop {
        thread::sleep(FLUSH_EVERY);
        let _ = lock(&shared).flush();
    });
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter))
        .target(env_logger::Target::Pipe(Box::new(pipe)))
        .init();
    guard
}

fn buffered<W: Write>(inner: W) -> (Pipe<W>, Guard<W>) {
    let shared = Arc::new(Mutex::new(BufWriter::with_capacity(CAPACITY, inner)));
    (Pipe(Arc::clone(&shared)), Guard(shared))
}

/// What env_logger writes to.
struct Pipe<W: Write>(Shared<W>);

impl<W: Write> Write for Pipe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).write(buf)
    }

    /// env_logger calls this after every line: leave it to the timer and the guard.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes out the buffered lines when dropped.
pub struct Guard<W: Write>(Shared<W>);

impl<W: Write> Drop for Guard<W> {
    fn drop(&mut self) {
        let _ = lock(&self.0).flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_in_the_buffer_until_the_guard_flushes() {
        let (mut pipe, guard) = buffered(Vec::new());
        writeln!(pipe, "GET /api/posts 200").unwrap();
        pipe.flush().unwrap();
        assert!(lock(&guard.0).get_ref().is_empty(), "not written per line");

        let shared = Arc::clone(&guard.0);
        drop(guard);
        assert_eq!(lock(&shared).get_ref(), b"GET /api/posts 200\n");
    }
}
