//! Running child processes: echoing what is run, failing with a clear
//! message, and bounding a run by a timeout.

use std::{
    env,
    ffi::{OsStr, OsString},
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

/// The `cargo` that runs us (so the same toolchain), else the one on PATH.
pub fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// The command line as one readable string (environment overrides first).
pub fn display(command: &Command) -> String {
    let mut parts: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| value.map(|value| format!("{}={}", key.to_string_lossy(), value.to_string_lossy())))
        .collect();
    let program = Path::new(command.get_program());
    // The full path of the toolchain's cargo is noise; other paths tell
    // which of several installed tools runs.
    if program.file_name() == Some(OsStr::new("cargo")) {
        parts.push("cargo".to_owned());
    } else {
        parts.push(program.to_string_lossy().into_owned());
    }
    parts.extend(command.get_args().map(|arg| arg.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Runs `command` with inherited stdio, after echoing it to stderr (with
/// the other progress messages, so that stdout carries results only); fails
/// unless it exits with status 0.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(command));
    let status = command.status().with_context(|| format!("could not start `{}`", display(command)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", display(command));
    }
    Ok(())
}

/// Runs `command` silently; on failure the error carries its output.
pub fn run_quietly(command: &mut Command) -> Result<()> {
    let output = command.output().with_context(|| format!("could not start `{}`", display(command)))?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}):\n{}{}",
            display(command),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// The trimmed stdout of `command`, or `None` if it cannot start or fails.
pub fn stdout_of(command: &mut Command) -> Option<String> {
    let output = command.stderr(Stdio::null()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// An executable named `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// Whether this process runs as root (`id -u` is 0).
pub fn running_as_root() -> bool {
    stdout_of(Command::new("id").arg("-u")).as_deref() == Some("0")
}

/// How a process bounded by a timeout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited by itself with this status.
    Exited(ExitStatus),
    /// It was still running at the deadline and was killed.
    TimedOut(Duration),
}

/// What a process bounded by a timeout printed, and how it ended.
#[derive(Debug)]
pub struct TimedOutput {
    /// How it ended.
    pub ending: Ending,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
    /// Wall-clock time from start to end.
    pub elapsed: Duration,
}

/// A child whose stdout and stderr are being drained by threads (so that a
/// chatty child never blocks on a full pipe), waited for with a deadline.
pub struct BoundedChild {
    child: Child,
    started: Instant,
    deadline: Instant,
    stdout: thread::JoinHandle<Vec<u8>>,
    /// Bytes read from stdout so far.
    stdout_bytes: Arc<AtomicUsize>,
    stderr: thread::JoinHandle<Vec<u8>>,
}

impl BoundedChild {
    /// Starts `command` with piped stdout/stderr and the given stdin; the
    /// timeout counts from now.
    pub fn spawn(command: &mut Command, stdin: Stdio, timeout: Duration) -> Result<Self> {
        let started = Instant::now();
        let mut child = command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start `{}`", display(command)))?;
        let stdout_bytes = Arc::new(AtomicUsize::new(0));
        let stdout = drain(child.stdout.take().expect("stdout is piped"), Arc::clone(&stdout_bytes));
        let stderr = drain(child.stderr.take().expect("stderr is piped"), Arc::new(AtomicUsize::new(0)));
        Ok(Self { child, started, deadline: started + timeout, stdout, stdout_bytes, stderr })
    }

    /// The child's stdin, if it was spawned with `Stdio::piped()`.
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// The moment after which the child is killed.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How many bytes the child has written to stdout so far.
    pub fn stdout_bytes(&self) -> usize {
        self.stdout_bytes.load(Ordering::Acquire)
    }

    /// Whether the child has already exited (without reaping its output).
    pub fn has_exited(&mut self) -> Result<bool> {
        Ok(self.child.try_wait()?.is_some())
    }

    /// Waits for the child to exit, killing it at the deadline.
    pub fn wait(mut self) -> Result<TimedOutput> {
        let ending = loop {
            if let Some(status) = self.child.try_wait()? {
                break Ending::Exited(status);
            }
            if Instant::now() >= self.deadline {
                // Kill fails only if it exited meanwhile; either way reap it.
                let _ = self.child.kill();
                self.child.wait()?;
                break Ending::TimedOut(self.deadline - self.started);
            }
            thread::sleep(Duration::from_millis(5));
        };
        let elapsed = self.started.elapsed();
        Ok(TimedOutput {
            ending,
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self.stderr.join().unwrap_or_default(),
            elapsed,
        })
    }
}

/// Reads `source` to its end on a thread, counting the bytes in `progress`.
fn drain(mut source: impl Read + Send + 'static, progress: Arc<AtomicUsize>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            match source.read(&mut buffer) {
                Ok(0) => break,
                Ok(count) => {
                    bytes.extend_from_slice(&buffer[..count]);
                    progress.store(bytes.len(), Ordering::Release);
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                // A read error ends the stream early; what was read is still useful.
                Err(_) => break,
            }
        }
        bytes
    })
}

/// Runs `command` with `input` on its stdin, killing it after `timeout`.
pub fn run_with_input(command: &mut Command, input: &[u8], timeout: Duration) -> Result<TimedOutput> {
    let mut child = BoundedChild::spawn(command, Stdio::piped(), timeout)?;
    let mut stdin = child.take_stdin().expect("stdin is piped");
    let input = input.to_vec();
    // A separate thread, so a child that stops reading cannot block us past
    // the deadline; dropping stdin at the end sends EOF.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait()?;
    let _ = writer.join();
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_reaches_the_child_and_output_comes_back() {
        let output = run_with_input(&mut Command::new("cat"), b"bytes in", Duration::from_secs(10)).unwrap();
        assert!(matches!(output.ending, Ending::Exited(status) if status.success()));
        assert_eq!(output.stdout, b"bytes in");
    }

    #[test]
    fn a_child_past_its_deadline_is_killed() {
        let started = Instant::now();
        let output = run_with_input(Command::new("sleep").arg("30"), b"", Duration::from_millis(200)).unwrap();
        assert!(matches!(output.ending, Ending::TimedOut(_)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn display_shows_environment_and_arguments() {
        let mut command = cargo();
        command.env("RUSTC_BOOTSTRAP", "1").args(["build", "--release"]);
        assert_eq!(display(&command), "RUSTC_BOOTSTRAP=1 cargo build --release");
    }
}
