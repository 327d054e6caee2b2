//! Running a firmware image under QEMU, always with a timeout.
//!
//! The image's two output channels are kept apart: semihosting (where the
//! defmt log goes) is QEMU's stdout, and UART0 is a Unix socket that we
//! connect to. (QEMU 7.2 writes semihosting `SYS_WRITE`s to its stdout even
//! with `-semihosting-config chardev=...`, so UART0 is the one that moves.)

use std::{
    env, fs,
    io::{Read, Write},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::{
    firmware::Board,
    process::{self, BoundedChild, Ending},
    toolchain::Toolchain,
};

/// How to run an image.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// QEMU is killed, and the run fails, after this long.
    pub timeout: Duration,
    /// `-icount shift=0`: the emulated clock advances one tick per
    /// instruction, making timing (cycle counts) deterministic.
    pub icount: bool,
    /// Bytes sent to UART0 once the image has started (has logged its first
    /// line, by which time UART0 is set up).
    pub uart_input: Vec<u8>,
    /// Read UART0's output as fast as it comes, never pausing: for runs
    /// whose emulated time must not depend on the host (the line-rate test).
    /// A UART whose output QEMU does not write blocking (the CMSDK UART)
    /// stalls while the socket is full, and the emulated clock runs on
    /// meanwhile: a few hundred bytes fill it, and a paused reader lets
    /// milliseconds pass.
    pub prompt_reader: bool,
    /// The image takes no input from the host over UART0 (the flash- and
    /// semihosting-fed line-rate tests: a semihosting call is served between
    /// two instructions, so it never sets the pace either), so nothing
    /// outside the emulation need set its pace: UART0
    /// writes to a file, which never makes the UART wait as a socket whose
    /// reader falls behind does, and with `icount` the emulated clock jumps
    /// to the next timer deadline while the core sleeps (`sleep=off`)
    /// instead of running on in real time. Such a run repeats exactly.
    /// `uart_input` is ignored.
    pub without_host_input: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            icount: false,
            uart_input: Vec::new(),
            prompt_reader: false,
            without_host_input: false,
        }
    }
}

/// How a QEMU run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuExit {
    /// QEMU exited with this status: the image's semihosting exit code, or
    /// QEMU's own error status.
    Code(i32),
    /// QEMU was ended by a signal (not by us).
    Signal,
    /// Still running at the timeout: killed.
    TimedOut(Duration),
}

impl std::fmt::Display for QemuExit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QemuExit::Code(code) => write!(formatter, "exit status {code}"),
            QemuExit::Signal => write!(formatter, "killed by a signal"),
            QemuExit::TimedOut(timeout) => {
                write!(formatter, "timed out after {:.1}s (killed)", timeout.as_secs_f64())
            }
        }
    }
}

/// What a QEMU run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// How it ended.
    pub exit: QemuExit,
    /// Everything the image wrote to UART0.
    pub uart_output: Vec<u8>,
    /// The image's defmt log, decoded by defmt-print (one line per message);
    /// for [`run_with_plain_log`], the text the image wrote.
    pub defmt_log: String,
    /// QEMU's own messages (stderr).
    pub qemu_stderr: String,
    /// Wall-clock time of the QEMU run.
    pub elapsed: Duration,
}

impl RunOutcome {
    /// Whether the image exited with status 0.
    pub fn success(&self) -> bool {
        self.exit == QemuExit::Code(0)
    }

    /// Everything about the run, for a failure message.
    pub fn report(&self) -> String {
        format!(
            "QEMU: {}\n--- defmt log ---\n{}--- UART0 ---\n{}\n--- QEMU stderr ---\n{}",
            self.exit,
            self.defmt_log,
            String::from_utf8_lossy(&self.uart_output),
            self.qemu_stderr
        )
    }
}

impl RunOutcome {
    /// Writes the run for a pipe: the UART0 bytes to `uart` exactly as the
    /// firmware sent them (no UTF-8 decoding, so bytes that are not UTF-8
    /// pass through), and the defmt log and then `status` to `log`.
    pub fn write_split(&self, status: &str, uart: &mut impl Write, log: &mut impl Write) -> std::io::Result<()> {
        log.write_all(b"--- defmt log ---\n")?;
        log.write_all(self.defmt_log.as_bytes())?;
        log.flush()?;
        uart.write_all(&self.uart_output)?;
        uart.flush()?;
        writeln!(log, "{status}")?;
        log.flush()
    }
}

/// The QEMU command line for `elf` on `board`, UART0 on the socket `uart0`
/// (or, [`RunOptions::without_host_input`], into that file).
fn qemu_command(toolchain: &Toolchain, board: Board, elf: &Path, uart0: &Path, options: &RunOptions) -> Command {
    let mut command = Command::new(&toolchain.qemu);
    command
        .args(["-machine", board.name()])
        // No window, no monitor: stdout carries the semihosting output only.
        .args(["-display", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-chardev");
    if options.without_host_input {
        command.arg(format!("file,id=uart0,path={}", uart0.display()));
    } else {
        // wait=on: the guest starts only once we are connected, so no UART
        // output is lost.
        command.arg(format!("socket,id=uart0,path={},server=on,wait=on", uart0.display()));
    }
    command.args(["-serial", "chardev:uart0"]);
    if options.icount {
        command.args(["-icount", if options.without_host_input { "shift=0,sleep=off" } else { "shift=0" }]);
    }
    command.arg("-kernel").arg(elf);
    command
}

/// Runs `elf` on `board` under QEMU until it exits or `options.timeout`
/// passes, and decodes its defmt log.
pub fn run(toolchain: &Toolchain, board: Board, elf: &Path, options: &RunOptions) -> Result<RunOutcome> {
    run_image(toolchain, board, elf, options, LogFormat::Defmt)
}

/// Like [`run`], for an image whose semihosting log is plain text (the C
/// API's example firmware): the log is kept as it is, in `defmt_log`.
pub fn run_with_plain_log(toolchain: &Toolchain, board: Board, elf: &Path, options: &RunOptions) -> Result<RunOutcome> {
    run_image(toolchain, board, elf, options, LogFormat::Plain)
}

/// What an image writes to the semihosting log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    /// defmt frames, decoded with defmt-print.
    Defmt,
    /// Text.
    Plain,
}

fn run_image(
    toolchain: &Toolchain,
    board: Board,
    elf: &Path,
    options: &RunOptions,
    log_format: LogFormat,
) -> Result<RunOutcome> {
    let scratch = ScratchDir::new()?;
    let uart0_path = scratch.path().join(if options.without_host_input { "uart0.out" } else { "uart0.sock" });
    // A leftover from a process that had our pid would make QEMU's bind fail.
    let _ = fs::remove_file(&uart0_path);
    let mut command = qemu_command(toolchain, board, elf, &uart0_path, options);
    let mut qemu = BoundedChild::spawn(&mut command, Stdio::null(), options.timeout)?;

    let uart0 = if options.without_host_input { None } else { connect_uart(&mut qemu, &uart0_path)? };
    let uart_output = match &uart0 {
        Some(stream) => {
            wait_for_first_log_output(&mut qemu)?;
            Some(exchange_uart(stream, options.uart_input.clone(), options.prompt_reader)?)
        }
        None => None,
    };
    let finished = qemu.wait()?;
    let uart_output = match uart_output {
        Some(reader) => reader.join().unwrap_or_default(),
        // The file QEMU wrote UART0 to (absent if QEMU did not start).
        None if options.without_host_input => fs::read(&uart0_path).unwrap_or_default(),
        None => Vec::new(),
    };

    let exit = match finished.ending {
        Ending::TimedOut(timeout) => QemuExit::TimedOut(timeout),
        Ending::Exited(status) => status.code().map_or(QemuExit::Signal, QemuExit::Code),
    };
    let defmt_log = match log_format {
        LogFormat::Defmt => decode_defmt(toolchain, elf, &finished.stdout)?,
        LogFormat::Plain => String::from_utf8_lossy(&finished.stdout).into_owned(),
    };
    Ok(RunOutcome {
        exit,
        uart_output,
        defmt_log,
        qemu_stderr: String::from_utf8_lossy(&finished.stderr).into_owned(),
        elapsed: finished.elapsed,
    })
}

/// Connects to QEMU's UART0 socket, once QEMU has created it. `None` if QEMU
/// exited or the deadline passed first (the caller's wait reports which).
fn connect_uart(qemu: &mut BoundedChild, socket: &Path) -> Result<Option<UnixStream>> {
    while Instant::now() < qemu.deadline() {
        if qemu.has_exited()? {
            return Ok(None);
        }
        if let Ok(stream) = UnixStream::connect(socket) {
            return Ok(Some(stream));
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(None)
}

/// Waits until the image has written its first log output (semihosting, on
/// QEMU's stdout), or has exited, or the deadline has passed.
///
/// The firmware sets UART0 up before it logs anything, and input must not
/// arrive earlier: the LM3S6965's UART (a PL011) accepts a byte before it
/// is enabled, and QEMU empties its FIFO when the firmware turns the FIFO
/// on, so a byte sent too early would be lost.
fn wait_for_first_log_output(qemu: &mut BoundedChild) -> Result<()> {
    while qemu.stdout_bytes() == 0 && Instant::now() < qemu.deadline() && !qemu.has_exited()? {
        thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Sends `input` to UART0 and collects everything UART0 sends until QEMU
/// closes the socket (when it exits or is killed).
fn exchange_uart(stream: &UnixStream, input: Vec<u8>, prompt: bool) -> Result<thread::JoinHandle<Vec<u8>>> {
    let mut writer = stream.try_clone()?;
    let mut reader = stream.try_clone()?;
    // The write half is never shut down: QEMU takes EOF as a disconnect and
    // would stop relaying UART0 output.
    thread::spawn(move || {
        // Fails only if QEMU is gone, which its exit status reports.
        let _ = writer.write_all(&input);
    });
    Ok(thread::spawn(move || read_until_closed(&mut reader, prompt)))
}

/// Below this many bytes per read, the reader pauses before the next read.
const SMALL_READ_BYTES: usize = 4096;
/// The pause: long enough for QEMU to queue many bytes in the socket.
const READ_PAUSE: Duration = Duration::from_millis(2);

/// Reads everything from `stream` until the other end closes it.
///
/// QEMU's UARTs send one byte per write; a reader blocked in `read` would
/// be woken for every byte, and those wake-ups (not the emulation) would
/// then set the pace. Pausing after small reads lets the socket buffer
/// collect the bytes instead, which makes long runs several times faster.
/// A `prompt` reader never pauses.
fn read_until_closed(stream: &mut UnixStream, prompt: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => {
                bytes.extend_from_slice(&buffer[..count]);
                if count < SMALL_READ_BYTES && !prompt {
                    thread::sleep(READ_PAUSE);
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            // A reset from a killed QEMU ends the output like a close.
            Err(_) => break,
        }
    }
    bytes
}

/// Decodes defmt frames with `defmt-print -e ELF`.
pub fn decode_defmt(toolchain: &Toolchain, elf: &Path, frames: &[u8]) -> Result<String> {
    if frames.is_empty() {
        return Ok(String::new());
    }
    let mut command = Command::new(&toolchain.defmt_print);
    command.arg("-e").arg(elf);
    let decoded = process::run_with_input(&mut command, frames, Duration::from_secs(30))?;
    match decoded.ending {
        Ending::Exited(status) if status.success() => {}
        ending => {
            bail!("`{}` failed ({ending:?}): {}", process::display(&command), String::from_utf8_lossy(&decoded.stderr))
        }
    }
    Ok(String::from_utf8_lossy(&decoded.stdout).into_owned())
}

/// A private temporary directory (for QEMU's socket), removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        // Short: a Unix socket path must fit in about 100 bytes.
        let path =
            env::temp_dir().join(format!("xtask-qemu-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uart_bytes_go_out_unchanged_and_everything_else_to_the_log() {
        // Not UTF-8: a lone continuation byte and a truncated sequence.
        let uart_output = b"\xe6\x88\x91  \x80\xff\xe4\xbd\n".to_vec();
        let outcome = RunOutcome {
            exit: QemuExit::Code(0),
            uart_output: uart_output.clone(),
            defmt_log: "INFO  boot: board=lm3s6965evb\n".to_owned(),
            qemu_stderr: String::new(),
            elapsed: Duration::from_millis(10),
        };
        let (mut uart, mut log) = (Vec::new(), Vec::new());
        outcome.write_split("qemu: Cortex-M3 on lm3s6965evb: exit status 0", &mut uart, &mut log).unwrap();
        assert_eq!(uart, uart_output);
        assert_eq!(
            String::from_utf8(log).unwrap(),
            "--- defmt log ---\nINFO  boot: board=lm3s6965evb\nqemu: Cortex-M3 on lm3s6965evb: exit status 0\n"
        );
    }
}
