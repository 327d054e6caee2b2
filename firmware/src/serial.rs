//! Interrupt-driven serial I/O on UART0: the interrupt handler moves
//! received bytes into a queue and queued output into the UART, so input
//! keeps arriving while the segmenter works, and the main program sleeps
//! (`wfi`) whenever it waits.
//!
//! The queues are `heapless::spsc` queues: the handler produces input and
//! consumes output, the main program the reverse, so neither end needs a
//! lock. A byte that cannot be kept is never dropped silently: the UART's
//! overrun flag and a full input queue are counted, and [`SerialStats`] is
//! logged at the end of a run.
//!
//! Back-pressure: while the input queue is nearly full, the receive
//! interrupt is masked, so input waits in the UART's FIFO (QEMU then stops
//! feeding it; a real line would overrun, and that is counted). It is
//! unmasked once the main program has drained half the queue. A byte that
//! arrives while the handler masks reception is taken at once: some UARTs
//! (QEMU 7.2's STM32 USART) keep their interrupt line raised until the data
//! register is read, whatever the enable bit says, and the handler would run
//! forever.
//!
//! EOT (0x04) ends the input: the handler raises a flag and ignores every
//! later byte. With the `line-rate` feature the receive interrupt stays off
//! and a timer takes one byte per byte period instead (see line_rate.rs).

use core::{
    cell::RefCell,
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
};

use cortex_m::{
    interrupt::{self, Mutex},
    peripheral::SCB,
};
use heapless::spsc::{Consumer, Producer, Queue};

#[cfg(feature = "line-rate")]
use crate::line_rate::hold_while as hold_byte_timer_while;
use crate::{
    board::{self, SerialPort, Uart0},
    systick,
};

/// End of transmission (Ctrl-D): ends the input.
pub const EOT: u8 = 0x04;

/// Slots of the input queue (it holds one byte fewer).
const RX_SLOTS: usize = 1024;
/// Slots of the output queue (it holds one byte fewer).
const TX_SLOTS: usize = 256;
/// Free input slots below which reception pauses: more than a UART FIFO
/// holds, so bytes already in flight still fit.
const RX_PAUSE_BELOW_FREE: usize = 32;
/// Queued input bytes at or below which a paused reception resumes.
const RX_RESUME_AT_LEN: usize = RX_SLOTS / 2;

type RxQueue = Queue<u8, RX_SLOTS>;
type TxQueue = Queue<u8, TX_SLOTS>;

/// The handler's ends of the queues, handed over by [`Serial::start`].
struct HandlerEnds {
    rx: Producer<'static, u8, RX_SLOTS>,
    tx: Consumer<'static, u8, TX_SLOTS>,
}

static HANDLER_ENDS: Mutex<RefCell<Option<HandlerEnds>>> = Mutex::new(RefCell::new(None));

// Counters and flags shared with the handler. Each has one writer at a time
// (the handler, or the main program inside a critical section), so loads
// and stores suffice, also on Armv6-M, which has no atomic read-modify-write.
static RECEIVED: AtomicU32 = AtomicU32::new(0);
static LOST_OVERRUN: AtomicU32 = AtomicU32::new(0);
static LOST_QUEUE_FULL: AtomicU32 = AtomicU32::new(0);
static END_OF_INPUT: AtomicBool = AtomicBool::new(false);
static RX_PAUSED: AtomicBool = AtomicBool::new(false);
static RX_PAUSES: AtomicU32 = AtomicU32::new(0);
/// Line-rate build: byte periods from the first byte to EOT, and those that
/// found no byte waiting (the host, or QEMU, fell behind the line).
#[cfg(feature = "line-rate")]
static BYTE_PERIODS: AtomicU32 = AtomicU32::new(0);
#[cfg(feature = "line-rate")]
static IDLE_BYTE_PERIODS: AtomicU32 = AtomicU32::new(0);

fn increment(counter: &AtomicU32) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// What the serial port received and lost.
#[derive(Clone, Copy, defmt::Format)]
pub struct SerialStats {
    /// Bytes taken from the UART before EOT (lost ones included, EOT not).
    pub received: u32,
    /// Times the UART's receive FIFO overflowed (at least one byte lost each).
    pub lost_overrun: u32,
    /// Bytes dropped because the input queue was full.
    pub lost_queue_full: u32,
    /// Times reception paused because the input queue was nearly full.
    pub rx_pauses: u32,
}

impl SerialStats {
    /// Whether any input was lost.
    pub fn lost_any(&self) -> bool {
        self.lost_overrun != 0 || self.lost_queue_full != 0
    }
}

/// The main program's side of the serial port.
pub struct Serial {
    uart: Uart0,
    rx: Consumer<'static, u8, RX_SLOTS>,
    tx: Producer<'static, u8, TX_SLOTS>,
}

impl Serial {
    /// Hands the queues' other ends to the interrupt handler and starts
    /// receiving by interrupt (or, with `line-rate`, by the byte timer).
    pub fn start(uart: Uart0) -> Self {
        let rx_queue: &'static mut RxQueue = cortex_m::singleton!(: RxQueue = Queue::new()).expect("started once");
        let tx_queue: &'static mut TxQueue = cortex_m::singleton!(: TxQueue = Queue::new()).expect("started once");
        let (rx_producer, rx_consumer) = rx_queue.split();
        let (tx_producer, tx_consumer) = tx_queue.split();
        interrupt::free(|cs| {
            HANDLER_ENDS.borrow(cs).replace(Some(HandlerEnds { rx: rx_producer, tx: tx_consumer }));
        });
        let mut serial = Self { uart, rx: rx_consumer, tx: tx_producer };
        for &number in board::UART0_INTERRUPTS {
            board::enable_interrupt(number);
        }
        if !cfg!(feature = "line-rate") {
            interrupt::free(|_| serial.uart.set_receive_interrupt(true));
            // A byte that arrived before raises no interrupt on every UART.
            SCB::set_pendsv();
        }
        serial
    }

    /// The next input byte, sleeping until one arrives; `None` once EOT has
    /// arrived and every byte before it has been read.
    pub fn read_byte(&mut self) -> Option<u8> {
        loop {
            // The handler queues every byte before it raises the flag, so a
            // flag seen before an empty queue means the input is over.
            let ended = END_OF_INPUT.load(Ordering::Acquire);
            if let Some(byte) = self.rx.dequeue() {
                self.resume_if_drained();
                return Some(byte);
            }
            if ended {
                return None;
            }
            // Checked again with interrupts masked: an interrupt between the
            // check and `wfi` would otherwise leave us asleep on a byte.
            // (`wfi` still wakes on a masked interrupt, which runs after.)
            interrupt::free(|_| {
                if !self.rx.ready() && !END_OF_INPUT.load(Ordering::Acquire) {
                    cortex_m::asm::wfi();
                }
            });
        }
    }

    /// Self-test: sleeps until the input queue has filled and reception has
    /// paused, or EOT has arrived, so that the run goes through back-pressure.
    #[cfg(feature = "selftest-backpressure")]
    pub fn wait_until_reception_pauses(&mut self) {
        while !RX_PAUSED.load(Ordering::Relaxed) && !END_OF_INPUT.load(Ordering::Acquire) {
            interrupt::free(|_| {
                if !RX_PAUSED.load(Ordering::Relaxed) && !END_OF_INPUT.load(Ordering::Acquire) {
                    cortex_m::asm::wfi();
                }
            });
        }
    }

    /// Queues `bytes` for sending, sleeping while the output queue is full.
    pub fn write_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if let Err(byte) = self.tx.enqueue(byte) {
                self.wait_for_output_room(1);
                // Room for one byte was just waited for.
                let _ = self.tx.enqueue(byte);
            }
        }
        self.kick_transmitter();
    }

    /// Waits until every queued output byte has gone to the UART.
    pub fn flush(&mut self) {
        self.wait_for_output_room(TX_SLOTS - 1);
    }

    /// Sleeps until the output queue has `free` bytes of room (in the
    /// line-rate build, with the byte timer stopped: only input is paced).
    fn wait_for_output_room(&mut self, free: usize) {
        let wait = || {
            while self.tx.capacity() - self.tx.len() < free {
                self.kick_transmitter();
                interrupt::free(|_| {
                    if self.tx.capacity() - self.tx.len() < free {
                        board::wait_for_transmitter();
                    }
                });
            }
        };
        hold_byte_timer_while(wait);
    }

    /// What was received and lost so far.
    pub fn stats(&self) -> SerialStats {
        SerialStats {
            received: RECEIVED.load(Ordering::Relaxed),
            lost_overrun: LOST_OVERRUN.load(Ordering::Relaxed),
            lost_queue_full: LOST_QUEUE_FULL.load(Ordering::Relaxed),
            rx_pauses: RX_PAUSES.load(Ordering::Relaxed),
        }
    }

    /// Turns the transmit interrupt on and runs the handler once (PendSV),
    /// which fills the UART: its transmit interrupt only fires after a byte
    /// has been sent.
    fn kick_transmitter(&mut self) {
        interrupt::free(|_| self.uart.set_transmit_interrupt(true));
        SCB::set_pendsv();
    }

    fn resume_if_drained(&mut self) {
        if RX_PAUSED.load(Ordering::Relaxed) && self.rx.len() <= RX_RESUME_AT_LEN {
            interrupt::free(|_| {
                RX_PAUSED.store(false, Ordering::Relaxed);
                self.uart.set_receive_interrupt(true);
            });
            // Bytes that arrived while paused raise no new interrupt on
            // every UART: the handler takes them now.
            SCB::set_pendsv();
        }
    }
}

/// Without a byte timer there is nothing to hold.
#[cfg(not(feature = "line-rate"))]
fn hold_byte_timer_while(wait: impl FnOnce()) {
    wait();
}

/// The main program's request to run the serial handler.
#[cortex_m_rt::exception]
fn PendSV() {
    on_uart_interrupt();
}

/// The UART0 interrupt (and PendSV, the main program's kick): receives what
/// the UART holds unless paused, and sends what is queued.
pub fn on_uart_interrupt() {
    systick::time_interrupt(|| {
        interrupt::free(|cs| {
            let mut ends = HANDLER_ENDS.borrow(cs).borrow_mut();
            let Some(ends) = ends.as_mut() else { return };
            let mut uart = Uart0::for_interrupt_handler();
            uart.clear_interrupts();
            if !cfg!(feature = "line-rate") && !RX_PAUSED.load(Ordering::Relaxed) {
                receive_all(&mut uart, &mut ends.rx);
            }
            transmit(&mut uart, &mut ends.tx);
        });
    });
}

/// With `line-rate`: the byte timer's tick takes at most one byte from the
/// line (UART0, or flash with `line-input-flash`, or a host file with
/// `line-input-semihosting`), as a wire at that baud rate would deliver it.
#[cfg(feature = "line-rate")]
pub fn on_byte_period() {
    systick::time_interrupt(|| {
        interrupt::free(|cs| {
            let mut ends = HANDLER_ENDS.borrow(cs).borrow_mut();
            let Some(ends) = ends.as_mut() else { return };
            if END_OF_INPUT.load(Ordering::Relaxed) {
                return;
            }
            match crate::line_rate::next_byte_on_line(cs) {
                Some(byte) => receive(byte, &mut ends.rx),
                None if RECEIVED.load(Ordering::Relaxed) != 0 => increment(&IDLE_BYTE_PERIODS),
                None => return,
            }
            increment(&BYTE_PERIODS);
        });
    });
}

/// Line-rate build: (byte periods from the first byte to EOT, those of them
/// that found no byte waiting).
#[cfg(feature = "line-rate")]
pub fn byte_periods() -> (u32, u32) {
    (BYTE_PERIODS.load(Ordering::Relaxed), IDLE_BYTE_PERIODS.load(Ordering::Relaxed))
}

/// Moves the UART's received bytes into the queue, pausing reception when
/// the queue is nearly full.
fn receive_all(uart: &mut Uart0, rx: &mut Producer<'static, u8, RX_SLOTS>) {
    if uart.take_overrun() {
        increment(&LOST_OVERRUN);
    }
    while let Some(byte) = uart.try_read_byte() {
        receive(byte, rx);
        if rx.capacity() - rx.len() < RX_PAUSE_BELOW_FREE {
            // The self-test widens the moment in which a byte can arrive
            // between the read above and the mask below.
            #[cfg(feature = "selftest-backpressure")]
            cortex_m::asm::delay(200_000);
            uart.set_receive_interrupt(false);
            RX_PAUSED.store(true, Ordering::Relaxed);
            increment(&RX_PAUSES);
            // A byte that arrived before the mask may hold the interrupt line
            // raised until it is read (the module docs); the queue keeps
            // RX_PAUSE_BELOW_FREE slots for it.
            if let Some(byte) = uart.try_read_byte() {
                receive(byte, rx);
            }
            return;
        }
    }
}

/// Takes one received byte: queues it, or ends the input at EOT, or counts
/// it lost if the queue is full. Bytes after EOT are ignored.
fn receive(byte: u8, rx: &mut Producer<'static, u8, RX_SLOTS>) {
    if END_OF_INPUT.load(Ordering::Relaxed) {
        return;
    }
    if byte == EOT {
        END_OF_INPUT.store(true, Ordering::Release);
        return;
    }
    increment(&RECEIVED);
    if rx.enqueue(byte).is_err() {
        increment(&LOST_QUEUE_FULL);
    }
}

/// Moves queued output into the UART while it has room; turns the transmit
/// interrupt off once the queue is empty.
fn transmit(uart: &mut Uart0, tx: &mut Consumer<'static, u8, TX_SLOTS>) {
    while let Some(&byte) = tx.peek() {
        if !uart.try_write_byte(byte) {
            return;
        }
        tx.dequeue();
    }
    uart.set_transmit_interrupt(false);
}
