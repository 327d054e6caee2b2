//! Ending the program: under QEMU (or a debug probe with semihosting) the
//! exit code becomes the emulator's process exit status.

/// How the firmware ended; the value is the semihosting exit code.
#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
#[repr(i32)]
pub enum ExitCode {
    /// Everything the application was asked to do succeeded.
    Success = 0,
    /// The application detected an error and stopped cleanly.
    Failure = 1,
    /// A Rust panic (same code as a panicking host process).
    Panic = 101,
    /// A processor fault (HardFault or an unexpected interrupt).
    Fault = 102,
}

/// Stops the program with `code` (SYS_EXIT_EXTENDED, so QEMU exits with
/// exactly this status).
pub fn exit(code: ExitCode) -> ! {
    semihosting::process::exit(code as i32)
}
