//! What the firmware's interrupt-driven serial port received and lost, from
//! its `serial: received=N lost_overrun=N lost_queue_full=N` log line
//! (firmware/src/serial.rs).

use anyhow::Result;

use super::Figures;

/// The serial port's counts from one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialFigures {
    /// Bytes taken from the UART before EOT, lost ones included.
    pub received: u64,
    /// Times the UART's receive FIFO overflowed (one byte or more lost each).
    pub lost_overrun: u64,
    /// Bytes dropped because the firmware's input queue was full.
    pub lost_queue_full: u64,
}

impl SerialFigures {
    /// Reads the counts from a run's defmt log.
    pub fn from_log(defmt_log: &str) -> Result<Self> {
        let figures = Figures::parse(defmt_log);
        Ok(Self {
            received: figures.integer("received")?,
            lost_overrun: figures.integer("lost_overrun")?,
            lost_queue_full: figures.integer("lost_queue_full")?,
        })
    }

    /// Whether any input byte was lost.
    pub fn lost_any(&self) -> bool {
        self.lost_overrun != 0 || self.lost_queue_full != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_from_the_serial_line() {
        let log =
            "INFO  input: bytes_in=12\nWARN  serial: received=20 lost_overrun=0 lost_queue_full=8 (input was lost)\n";
        let figures = SerialFigures::from_log(log).unwrap();
        assert_eq!(figures, SerialFigures { received: 20, lost_overrun: 0, lost_queue_full: 8 });
        assert!(figures.lost_any());
        assert!(SerialFigures::from_log("INFO  input: bytes_in=12").is_err());
    }
}
