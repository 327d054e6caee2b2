//! Counting the processor's time in the segmenter with SysTick.
//!
//! SysTick runs free from the core clock over its full 24-bit range; a
//! [`Stopwatch`] adds up the ticks of the intervals it is running (each
//! interval must stay under 2^24 ticks, which every segmenter call does by
//! far). Under `qemu-system-arm -icount shift=0` the emulated clock advances
//! exactly one nanosecond per instruction, so ticks convert to instructions
//! with [`InstructionsPerTick`], calibrated at boot on a loop of known length.
//! On real hardware a tick is a core clock cycle.

use cortex_m::peripheral::{syst::SystClkSource, SYST};

/// SysTick's counter is 24 bits wide.
const COUNTER_MASK: u32 = 0x00FF_FFFF;

/// Starts SysTick counting down from 2^24 - 1 on the core clock, without
/// interrupts, and keeps it running for the rest of the program.
pub fn start_free_running(mut syst: SYST) {
    syst.disable_counter();
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(COUNTER_MASK);
    syst.clear_current();
    syst.disable_interrupt();
    syst.enable_counter();
}

/// The counter now (it counts down).
fn now() -> u32 {
    SYST::get_current()
}

/// Ticks from `earlier` to `later` (a down-counter that wraps at 2^24).
fn ticks_between(earlier: u32, later: u32) -> u32 {
    earlier.wrapping_sub(later) & COUNTER_MASK
}

/// Adds up SysTick ticks over the intervals between [`Stopwatch::start`] and
/// [`Stopwatch::stop`].
#[derive(Default)]
pub struct Stopwatch {
    started_at: Option<u32>,
    total_ticks: u64,
}

impl Stopwatch {
    /// Starts an interval (no effect if one is running).
    #[inline]
    pub fn start(&mut self) {
        if self.started_at.is_none() {
            self.started_at = Some(now());
        }
    }

    /// Ends the running interval and adds its ticks (no effect if none runs).
    #[inline]
    pub fn stop(&mut self) {
        if let Some(started_at) = self.started_at.take() {
            self.total_ticks += u64::from(ticks_between(started_at, now()));
        }
    }

    /// Ticks of all finished intervals.
    pub fn total_ticks(&self) -> u64 {
        self.total_ticks
    }
}

/// Instructions per SysTick tick under `-icount shift=0`, as a fraction.
#[derive(Clone, Copy)]
pub struct InstructionsPerTick {
    instructions: u64,
    ticks: u64,
}

/// Iterations of the calibration loop: long enough that the few instructions
/// around it and the tick rounding are below 10^-5.
const CALIBRATION_ITERATIONS: u32 = 1_000_000;

impl InstructionsPerTick {
    /// Times a loop of known instruction count: `cortex_m::asm::delay(n)`
    /// runs `n + 1` iterations of `subs; bne`, i.e. `2 * (n + 1)` instructions.
    pub fn calibrate() -> Self {
        let mut stopwatch = Stopwatch::default();
        stopwatch.start();
        cortex_m::asm::delay(CALIBRATION_ITERATIONS);
        stopwatch.stop();
        let instructions = 2 * (u64::from(CALIBRATION_ITERATIONS) + 1);
        Self { instructions, ticks: stopwatch.total_ticks().max(1) }
    }

    /// `ticks` converted to instructions.
    pub fn instructions(self, ticks: u64) -> u64 {
        ticks * self.instructions / self.ticks
    }

    /// Instructions per tick (for the log).
    pub fn as_f32(self) -> f32 {
        self.instructions as f32 / self.ticks as f32
    }
}
