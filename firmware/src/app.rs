//! The application: checks the board and the embedded model, then segments
//! UART0 input until EOT and reports its figures over the defmt log.

use core::mem::size_of;

use cortex_m::peripheral::{CPUID, SYST};
use decoder::{Dictionary, Model, Segmenter, SpanRules, DEFAULT_WINDOW};

#[cfg(feature = "line-rate")]
use crate::line_rate;
use crate::{
    board::{self, SerialPort},
    exit::ExitCode,
    memory, model_image,
    serial::{Serial, SerialStats, EOT},
    systick::{self, InstructionsPerTick, InterruptCost},
    uart_segmenter::{self, SessionStats},
    user_dict_image,
};

/// The core peripherals the application uses.
pub struct CorePeripherals {
    /// Identifies the processor core.
    pub cpuid: CPUID,
    /// Times the segmenter.
    pub syst: SYST,
}

/// Runs the application to completion.
pub fn run(mut board: board::Board, core_peripherals: CorePeripherals) -> ExitCode {
    let cpuid = core_peripherals.cpuid.base.read();
    let core = core_name(cpuid);
    defmt::info!(
        "boot: board={=str} core={=str} cpuid={=u32:#010x} core_clock_hz={=u32}",
        board::NAME,
        core,
        cpuid,
        board::CORE_CLOCK_HZ
    );
    if core != board::CORE {
        defmt::error!("this image was built for a {=str}, but runs on a {=str}", board::CORE, core);
        return ExitCode::Failure;
    }
    run_crash_selftests();
    if cfg!(feature = "selftest-echo") {
        echo_until_end_of_transmission(&mut board.uart0);
        return ExitCode::Success;
    }

    let mut syst = core_peripherals.syst;
    systick::start_free_running(&mut syst);
    let instructions_per_tick = InstructionsPerTick::calibrate();

    let model = match Model::from_bytes(model_image::bytes()) {
        Ok(model) => model,
        Err(error) => {
            defmt::error!(
                "model {=str} ({=usize} bytes) rejected: {} ({})",
                model_image::FILE_NAME,
                model_image::MODEL_LEN,
                defmt::Display2Format(&error),
                error
            );
            return ExitCode::Failure;
        }
    };
    // The model writes its own figures (format, tags, scheme, emission shape) as `key=value` pairs.
    defmt::info!("model: file={=str} bytes={=usize} {}", model_image::FILE_NAME, model_image::MODEL_LEN, model);
    #[cfg(feature = "tokens")]
    if model.is_token_level() {
        return run_token_mode(board, syst, &model, instructions_per_tick);
    }

    let user_dict = match user_dict_image::bytes().map(Dictionary::from_bytes).transpose() {
        Ok(user_dict) => user_dict,
        Err(error) => {
            defmt::error!("user dictionary rejected: {}", defmt::Display2Format(&error));
            return ExitCode::Failure;
        }
    };
    if let Some(user_dict) = &user_dict {
        defmt::info!("user_dict: bytes={=usize} words={=usize}", user_dict.as_bytes().len(), user_dict.len());
    }
    let rules = SpanRules { dictionary: user_dict.as_ref(), forced_spans: true };
    let mut segmenter = Segmenter::<DEFAULT_WINDOW>::with_rules(&model, rules);
    let flash = FlashUse::now();
    defmt::info!(
        "memory: flash={=usize} flash_code={=usize} flash_model={=usize} static_ram={=usize} segmenter_state={=usize} \
         window={=usize} ram_in_use={=usize}",
        flash.total,
        flash.code,
        flash.model,
        memory::static_ram_bytes(),
        size_of::<Segmenter<'_, DEFAULT_WINDOW>>(),
        DEFAULT_WINDOW,
        memory::static_ram_bytes() + memory::peak_stack_bytes()
    );
    let mut serial = Serial::start(board.uart0);
    #[cfg(feature = "selftest-backpressure")]
    serial.wait_until_reception_pauses();
    let interrupt_cost = InterruptCost::calibrate(|raise| board::raise_interrupt(board::UART0_INTERRUPTS[0], raise));
    #[cfg(feature = "line-rate")]
    if line_rate::start(syst, instructions_per_tick).is_err() {
        return ExitCode::Failure;
    }
    defmt::info!("ready: segmenting UART0 input until EOT ({=u8:#04x})", EOT);

    let stats = uart_segmenter::segment_until_end_of_transmission(&mut serial, &mut segmenter);
    report(&stats, instructions_per_tick, interrupt_cost);
    report_serial(&serial.stats());
    #[cfg(feature = "line-rate")]
    line_rate::report();
    ExitCode::Success
}

/// The token labeler's session: the model is token-level (format version 6), so UART0 carries CoNLL
/// lines and their tags (`uart_tokens`).
#[cfg(feature = "tokens")]
fn run_token_mode(
    board: board::Board,
    #[cfg_attr(not(feature = "line-rate"), allow(unused_variables))] syst: SYST,
    model: &Model<'_>,
    instructions_per_tick: InstructionsPerTick,
) -> ExitCode {
    use crate::uart_tokens::{self, Labeler, SENTENCE_BYTES, SENTENCE_LINES};

    if user_dict_image::bytes().is_some() {
        defmt::warn!("user dictionary ignored: a token-level model labels tokens, it does not segment");
    }
    let mut labeler = Labeler::new(model);
    let flash = FlashUse::now();
    defmt::info!(
        "memory: flash={=usize} flash_code={=usize} flash_model={=usize} static_ram={=usize} labeler_state={=usize} \
         sentence_bytes={=usize} sentence_lines={=usize} ram_in_use={=usize}",
        flash.total,
        flash.code,
        flash.model,
        memory::static_ram_bytes(),
        size_of::<Labeler<'_>>(),
        SENTENCE_BYTES,
        SENTENCE_LINES,
        memory::static_ram_bytes() + memory::peak_stack_bytes()
    );
    let mut serial = Serial::start(board.uart0);
    let interrupt_cost = InterruptCost::calibrate(|raise| board::raise_interrupt(board::UART0_INTERRUPTS[0], raise));
    #[cfg(feature = "line-rate")]
    if line_rate::start(syst, instructions_per_tick).is_err() {
        return ExitCode::Failure;
    }
    defmt::info!(
        "ready: labelling CoNLL lines ({=usize} columns a token, an optional tag column) from UART0 until EOT ({=u8:#04x})",
        labeler.columns(),
        EOT
    );
    let session = uart_tokens::label_until_end_of_transmission(&mut serial, &mut labeler);
    let stats = labeler.stats();
    defmt::info!(
        "input: bytes_in={=u64} lines={=u64} tokens={=u64} sentences={=u64} split_sentences={=u64} error_lines={=u64} \
         bytes_out={=u64}",
        session.bytes_in,
        stats.lines,
        stats.tokens,
        stats.sentences,
        stats.split_sentences,
        stats.error_lines,
        session.bytes_out
    );
    if cfg!(feature = "line-rate") {
        defmt::info!("labeler: not timed (SysTick paces the input in line-rate builds)");
    } else {
        let Work { ticks, instructions, per_unit: per_token } = Work::measure(
            session.labeler_ticks,
            session.labeler_interrupts,
            stats.tokens,
            instructions_per_tick,
            interrupt_cost,
        );
        defmt::info!(
            "labeler: ticks={=u64} interrupts={=u64} instructions_per_tick={=f32} instructions={=u64} \
             instructions_per_token={=f32} (instructions: valid under qemu -icount shift=0)",
            ticks,
            session.labeler_interrupts,
            instructions_per_tick.as_f32(),
            instructions,
            per_token
        );
        report_memory();
    }
    report_serial(&serial.stats());
    #[cfg(feature = "line-rate")]
    line_rate::report();
    ExitCode::Success
}

/// What the segmenter or labeler spent, its interrupts' share taken out.
struct Work {
    /// SysTick ticks, interrupt handlers left out.
    ticks: u64,
    /// Instructions in those ticks (valid under `qemu -icount shift=0`).
    instructions: u64,
    /// Instructions per unit of input (character or token; 0 for no input).
    per_unit: f32,
}

impl Work {
    fn measure(
        ticks: u64,
        interrupts: u64,
        units: u64,
        instructions_per_tick: InstructionsPerTick,
        interrupt_cost: InterruptCost,
    ) -> Self {
        // What the interrupts cost beyond their handlers' timed bodies is the
        // UART's, not the segmenter's or labeler's.
        let ticks = ticks.saturating_sub(interrupt_cost.ticks(interrupts));
        let instructions = instructions_per_tick.instructions(ticks);
        let per_unit = if units == 0 { 0.0 } else { instructions as f32 / units as f32 };
        Self { ticks, instructions, per_unit }
    }
}

/// How the image's flash splits into the model and everything else.
struct FlashUse {
    total: usize,
    code: usize,
    model: usize,
}

impl FlashUse {
    fn now() -> Self {
        let total = memory::flash_bytes();
        let model = model_image::MODEL_LEN;
        Self { total, code: total.saturating_sub(model), model }
    }
}

/// Logs what the session did and cost, as `key=value` pairs that the host
/// tests and `cargo xtask firmware measure` read.
fn report(stats: &SessionStats, instructions_per_tick: InstructionsPerTick, interrupt_cost: InterruptCost) {
    defmt::info!(
        "input: bytes_in={=u64} characters={=u64} line_feeds={=u64} bytes_out={=u64} forced_cuts={=u64}",
        stats.bytes_in,
        stats.characters,
        stats.line_feeds,
        stats.bytes_out,
        stats.forced_cuts
    );
    if cfg!(feature = "line-rate") {
        defmt::info!("segmenter: not timed (SysTick paces the input in line-rate builds)");
        return;
    }
    let Work { ticks, instructions, per_unit: per_character } = Work::measure(
        stats.segmenter_ticks,
        stats.segmenter_interrupts,
        stats.characters,
        instructions_per_tick,
        interrupt_cost,
    );
    defmt::info!(
        "segmenter: ticks={=u64} interrupts={=u64} instructions_per_tick={=f32} instructions={=u64} \
         instructions_per_char={=f32} (instructions: valid under qemu -icount shift=0)",
        ticks,
        stats.segmenter_interrupts,
        instructions_per_tick.as_f32(),
        instructions,
        per_character
    );
    report_memory();
}

/// Logs the peak stack and the RAM in use.
fn report_memory() {
    let peak_stack = memory::peak_stack_bytes();
    let static_ram = memory::static_ram_bytes();
    defmt::info!(
        "memory: peak_stack={=usize} static_ram={=usize} ram_in_use={=usize} stack_capacity={=usize}",
        peak_stack,
        static_ram,
        static_ram + peak_stack,
        memory::stack_capacity_bytes()
    );
}

/// Logs what the serial port received and lost (the host tests and `cargo
/// xtask firmware line-rate` read it); a loss is a warning.
fn report_serial(stats: &SerialStats) {
    if stats.lost_any() {
        defmt::warn!(
            "serial: received={=u32} lost_overrun={=u32} lost_queue_full={=u32} rx_pauses={=u32} (input was lost)",
            stats.received,
            stats.lost_overrun,
            stats.lost_queue_full,
            stats.rx_pauses
        );
    } else {
        defmt::info!(
            "serial: received={=u32} lost_overrun={=u32} lost_queue_full={=u32} rx_pauses={=u32}",
            stats.received,
            stats.lost_overrun,
            stats.lost_queue_full,
            stats.rx_pauses
        );
    }
}

/// The crash self-tests enabled by cargo features, for the QEMU tests.
/// `cfg!` rather than `#[cfg]`, so every build compiles (and lints) them.
fn run_crash_selftests() {
    if cfg!(feature = "selftest-panic") {
        panic!("selftest-panic: deliberate panic after boot");
    }
    if cfg!(feature = "selftest-hardfault") {
        // An undefined instruction: UsageFault, escalated to HardFault.
        cortex_m::asm::udf();
    }
}

/// The core's name from the CPUID register's part number (bits 4..16).
fn core_name(cpuid: u32) -> &'static str {
    match (cpuid >> 4) & 0xfff {
        0xc20 => "Cortex-M0",
        0xc23 => "Cortex-M3",
        0xc24 => "Cortex-M4",
        0xc27 => "Cortex-M7",
        0xd21 => "Cortex-M33",
        _ => "unknown core",
    }
}

/// Sends back every byte received on UART0 until EOT, so that tests can
/// check both directions of the serial link.
fn echo_until_end_of_transmission(uart: &mut board::Uart0) {
    let mut echoed: u32 = 0;
    loop {
        let byte = uart.read_byte();
        if byte == EOT {
            break;
        }
        uart.write_byte(byte);
        echoed += 1;
    }
    defmt::info!("echoed {=u32} bytes", echoed);
}
