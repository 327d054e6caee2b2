//! The line-rate test build (cargo feature `line-rate`): SysTick fires once
//! per byte period of a serial line at `CRF_BAUD` (10 bits a byte: start,
//! 8 data, stop) at the board's documented core clock, and each tick takes
//! at most one byte from UART0 into the input queue, so input arrives as it
//! would on a real wire at that rate, however fast the host sends it. What
//! does not fit the queue is counted lost.
//!
//! Under `qemu -icount shift=0` an instruction stands for a core cycle, so
//! the period is `CORE_CLOCK_HZ * 10 / CRF_BAUD` instructions, converted to
//! SysTick ticks with the boot-time calibration.
//!
//! Only input is paced: the timer stops while the firmware waits for room
//! to queue output ([`hold_while`]). Some of QEMU's UARTs (the CMSDK one)
//! wait for the host to read each output byte, and the emulated clock runs
//! on meanwhile; without the hold, the host's speed, not the board's, would
//! decide what is lost.
//!
//! With `line-input-flash` the bytes come from the input embedded in flash
//! (line_input.rs) instead of UART0: QEMU feeds a UART in real time and
//! falls behind when the host is loaded (and on the MPS2 boards' one-byte
//! receive register already at low rates), which leaves the line idle; the
//! flash never does, and a run under `-icount` repeats exactly.
//!
//! With `line-input-semihosting` they come from a file on the host, read
//! through ARM semihosting 256 bytes at a time when the timer has used up
//! the last read (semihosted_input.rs), for the boards whose flash cannot
//! hold the input. That refill is a test harness, not what a real board
//! does: it works because under `-icount shift=0,sleep=off` a semihosting
//! call costs the emulated clock only its trap instruction (QEMU serves it
//! between two instructions), so the timer still delivers one byte per byte
//! period, exactly as a UART at that rate would, the line never idles, and
//! runs repeat exactly, as with flash. The refill's few instructions run in
//! the timer's handler once per 256 bytes and count against the board.

use core::cell::RefCell;

use cortex_m::{
    interrupt::{self, CriticalSection, Mutex},
    peripheral::{syst::SystClkSource, SYST},
};
use cortex_m_rt::exception;

use crate::{board, serial, systick::InstructionsPerTick};

/// Where the line's bytes come from (for the log).
const INPUT_SOURCE: &str = if cfg!(feature = "line-input-flash") {
    "flash"
} else if cfg!(feature = "line-input-semihosting") {
    "semihosting"
} else {
    "uart"
};

/// The byte this byte period brings, if any: the next one of the input in
/// flash (never none: EOT follows the last one).
#[cfg(feature = "line-input-flash")]
pub fn next_byte_on_line(_: &CriticalSection) -> Option<u8> {
    Some(crate::line_input::next_byte())
}

/// The byte this byte period brings, if any: the next one of the host file
/// (never none: EOT follows the last one).
#[cfg(feature = "line-input-semihosting")]
pub fn next_byte_on_line(cs: &CriticalSection) -> Option<u8> {
    Some(crate::semihosted_input::next_byte(cs))
}

/// The byte this byte period brings, if any: what UART0 holds.
#[cfg(not(any(feature = "line-input-flash", feature = "line-input-semihosting")))]
pub fn next_byte_on_line(_: &CriticalSection) -> Option<u8> {
    use board::SerialPort;
    board::Uart0::for_interrupt_handler().try_read_byte()
}

/// Readies the input and returns the bytes its source holds: those embedded
/// in flash.
#[cfg(feature = "line-input-flash")]
fn open_source() -> Result<usize, ()> {
    Ok(crate::line_input::len())
}

/// Readies the input and returns the bytes its source holds: opens the host
/// file (which fails, logged, if it cannot be opened).
#[cfg(feature = "line-input-semihosting")]
fn open_source() -> Result<usize, ()> {
    crate::semihosted_input::open()
}

/// Readies the input and returns the bytes its source holds: unknown (0),
/// the host streams them over UART0.
#[cfg(not(any(feature = "line-input-flash", feature = "line-input-semihosting")))]
fn open_source() -> Result<usize, ()> {
    Ok(0)
}

include!(concat!(env!("OUT_DIR"), "/line_rate.rs"));

/// Bits on the wire per byte (8N1: start, 8 data, stop).
const BITS_PER_BYTE: u64 = 10;

/// SysTick, once it is the byte timer.
static BYTE_TIMER: Mutex<RefCell<Option<SYST>>> = Mutex::new(RefCell::new(None));

/// Runs `wait` (the firmware waiting for the output queue) with the byte
/// timer stopped.
pub fn hold_while(wait: impl FnOnce()) {
    set_running(false);
    wait();
    set_running(true);
}

fn set_running(running: bool) {
    interrupt::free(|cs| {
        if let Some(syst) = BYTE_TIMER.borrow(cs).borrow_mut().as_mut() {
            if running {
                syst.enable_counter();
            } else {
                syst.disable_counter();
            }
        }
    });
}

/// Readies the input source, then turns SysTick from the stopwatch into the
/// byte timer (so the segmenter is not timed in this build). Fails, logged,
/// if the source cannot be readied.
pub fn start(mut syst: SYST, instructions_per_tick: InstructionsPerTick) -> Result<(), ()> {
    let source_bytes = open_source()?;
    let cycles_per_byte = u64::from(board::CORE_CLOCK_HZ) * BITS_PER_BYTE / u64::from(BAUD_RATE);
    // SysTick's reload register has 24 bits.
    let period_ticks = instructions_per_tick.ticks_for(cycles_per_byte).min(0x00FF_FFFF) as u32;
    defmt::info!(
        "line_rate: input_source={=str} source_bytes={=usize} baud={=u32} core_clock_hz={=u32} \
         cycles_per_byte={=u64} period_ticks={=u32} period_instructions={=u64} (the timer's period, rounded \
         to whole ticks)",
        INPUT_SOURCE,
        source_bytes,
        BAUD_RATE,
        board::CORE_CLOCK_HZ,
        cycles_per_byte,
        period_ticks,
        instructions_per_tick.instructions(u64::from(period_ticks))
    );
    syst.disable_counter();
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(period_ticks - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    interrupt::free(|cs| BYTE_TIMER.borrow(cs).replace(Some(syst)));
    Ok(())
}

#[exception]
fn SysTick() {
    serial::on_byte_period();
}

/// Logs how steadily the input came: a byte period that found no byte
/// waiting means the line ran slower than `BAUD_RATE` there.
pub fn report() {
    let (periods, idle) = serial::byte_periods();
    defmt::info!("line_rate: byte_periods={=u32} idle_byte_periods={=u32}", periods, idle);
    #[cfg(feature = "line-input-semihosting")]
    defmt::info!("line_input: refills={=u32} (SYS_READ calls)", crate::semihosted_input::refills());
}
