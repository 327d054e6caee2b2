//! Crash handlers: a panic, a HardFault or an unexpected interrupt logs what
//! it can and ends the run with a failure exit code instead of hanging.

use core::{
    panic::PanicInfo,
    sync::atomic::{AtomicBool, Ordering},
};

use cortex_m_rt::{exception, ExceptionFrame};

use crate::{
    board,
    exit::{exit, ExitCode},
    serial,
};

/// Set on the first crash, so that a crash while logging the crash (e.g. the
/// defmt logger was mid-frame) exits at once instead of recursing.
static CRASHING: AtomicBool = AtomicBool::new(false);

/// True the first time it is called.
fn first_crash() -> bool {
    // A load and a store with interrupts masked: Armv6-M has no atomic swap.
    cortex_m::interrupt::free(|_| {
        let crashing = CRASHING.load(Ordering::Relaxed);
        CRASHING.store(true, Ordering::Relaxed);
        !crashing
    })
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    if first_crash() {
        defmt::error!("{}", defmt::Display2Format(info));
    }
    exit(ExitCode::Panic)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    if first_crash() {
        defmt::error!(
            "HardFault: pc={=u32:#010x} lr={=u32:#010x} xpsr={=u32:#010x}",
            frame.pc(),
            frame.lr(),
            frame.xpsr()
        );
    }
    exit(ExitCode::Fault)
}

/// Every interrupt without a handler of its own: UART0's go to the serial
/// handler (without a device crate there is no vector table entry per
/// interrupt), anything else is a fault.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if u16::try_from(irqn).is_ok_and(|number| board::UART0_INTERRUPTS.contains(&number)) {
        serial::on_uart_interrupt();
        return;
    }
    if first_crash() {
        defmt::error!("unexpected exception or interrupt: irqn={=i16}", irqn);
    }
    exit(ExitCode::Fault)
}
