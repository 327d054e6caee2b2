//! Counting the processor's time in the segmenter with SysTick.
//!
//! SysTick runs free from the core clock over its full 24-bit range; a
//! [`Stopwatch`] adds up the ticks of the intervals it is running (each
//! interval must stay under 2^24 ticks, which every segmenter call does by
//! far). Under `qemu-system-arm -icount shift=0` the emulated clock advances
//! exactly one nanosecond per instruction, so ticks convert to instructions
//! with [`InstructionsPerTick`], calibrated at boot on a loop of known length.
//! On real hardware a tick is a core clock cycle.

use core::sync::atomic::{compiler_fence, AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SYST};

/// SysTick's counter is 24 bits wide.
const COUNTER_MASK: u32 = 0x00FF_FFFF;

/// Starts SysTick counting down from 2^24 - 1 on the core clock, without
/// interrupts, and keeps it running for the rest of the program.
pub fn start_free_running(syst: &mut SYST) {
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

/// Ticks spent in interrupt handlers wrapped in [`time_interrupt`] (wraps;
/// only differences count). Written only by handlers, which never nest
/// (they share one priority), so a load and a store suffice, also on
/// Armv6-M, which has no atomic read-modify-write.
static INTERRUPT_TICKS: AtomicU32 = AtomicU32::new(0);
/// Runs of [`time_interrupt`] (wraps; same single writer).
static INTERRUPTS: AtomicU32 = AtomicU32::new(0);

/// Runs the interrupt handler body `handler`, adding its ticks to
/// [`INTERRUPT_TICKS`], so that a [`Stopwatch`] it interrupts does not count
/// them: the segmenter's figures stay the segmenter's alone.
#[inline(always)]
pub fn time_interrupt(handler: impl FnOnce()) {
    let started_at = now();
    handler();
    let spent = ticks_between(started_at, now());
    INTERRUPT_TICKS.store(INTERRUPT_TICKS.load(Ordering::Relaxed).wrapping_add(spent), Ordering::Relaxed);
    INTERRUPTS.store(INTERRUPTS.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Adds up SysTick ticks over the intervals between [`Stopwatch::start`] and
/// [`Stopwatch::stop`], less the ticks of the interrupt handlers that ran
/// meanwhile, whose number it counts (each costs a few instructions outside
/// [`time_interrupt`]: see [`InterruptCost`]).
#[derive(Default)]
pub struct Stopwatch {
    /// The counter when the running interval started.
    started_at: Option<u32>,
    /// [`INTERRUPT_TICKS`] and [`INTERRUPTS`] when it started.
    interrupt_ticks_then: u32,
    interrupts_then: u32,
    total_ticks: u64,
    total_interrupts: u64,
}

impl Stopwatch {
    /// Starts an interval (no effect if one is running).
    #[inline]
    pub fn start(&mut self) {
        if self.started_at.is_none() {
            // The counters first and the clock last, so that reading them
            // falls outside the interval.
            self.interrupt_ticks_then = INTERRUPT_TICKS.load(Ordering::Relaxed);
            self.interrupts_then = INTERRUPTS.load(Ordering::Relaxed);
            compiler_fence(Ordering::SeqCst);
            self.started_at = Some(now());
        }
    }

    /// Ends the running interval and adds its ticks (no effect if none runs).
    #[inline]
    pub fn stop(&mut self) {
        if let Some(started_at) = self.started_at.take() {
            let elapsed = ticks_between(started_at, now());
            compiler_fence(Ordering::SeqCst);
            let in_interrupts = INTERRUPT_TICKS.load(Ordering::Relaxed).wrapping_sub(self.interrupt_ticks_then);
            self.total_ticks += u64::from(elapsed.saturating_sub(in_interrupts));
            self.total_interrupts += u64::from(INTERRUPTS.load(Ordering::Relaxed).wrapping_sub(self.interrupts_then));
        }
    }

    /// Interrupt handlers that ran inside the finished intervals.
    pub fn total_interrupts(&self) -> u64 {
        self.total_interrupts
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

    /// The ticks closest to `instructions` (at least one).
    #[cfg(feature = "line-rate")]
    pub fn ticks_for(self, instructions: u64) -> u64 {
        ((instructions * self.ticks + self.instructions / 2) / self.instructions).max(1)
    }

    /// Instructions per tick (for the log).
    pub fn as_f32(self) -> f32 {
        self.instructions as f32 / self.ticks as f32
    }
}

/// Interrupt handler runs in the calibration of [`InterruptCost`].
const CALIBRATION_INTERRUPTS: u32 = 1_000;

/// The ticks an interrupt costs a [`Stopwatch`] beyond what
/// [`time_interrupt`] takes out (exception entry, the handler's prologue and
/// epilogue, dispatch), as a fraction.
#[derive(Clone, Copy)]
pub struct InterruptCost {
    ticks: u64,
    interrupts: u64,
}

impl InterruptCost {
    /// Times a loop that raises an interrupt on each pass
    /// (`raise(true)`) against the same loop raising none (`raise(false)`).
    pub fn calibrate(mut raise: impl FnMut(bool)) -> Self {
        let with = time_raising(&mut raise, true);
        let without = time_raising(&mut raise, false);
        Self { ticks: with.saturating_sub(without), interrupts: u64::from(CALIBRATION_INTERRUPTS) }
    }

    /// The ticks that `interrupts` handler runs added to a stopwatch.
    pub fn ticks(self, interrupts: u64) -> u64 {
        interrupts * self.ticks / self.interrupts
    }
}

/// One timed loop of [`InterruptCost::calibrate`]; never inlined, so both
/// passes run the same instructions.
#[inline(never)]
fn time_raising(raise: &mut impl FnMut(bool), interrupt: bool) -> u64 {
    let mut stopwatch = Stopwatch::default();
    stopwatch.start();
    for _ in 0..CALIBRATION_INTERRUPTS {
        raise(interrupt);
    }
    stopwatch.stop();
    stopwatch.total_ticks()
}
