//! Where pass one puts the changes it finds: a spill file for the second
//! pass, or straight to the loader thread when the load is streamed.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::Halt;
use crate::model::RunStatus;

/// Where pass one puts the new and changed cards (one line each: key JSON, tab, card JSON).
pub(super) enum Sink {
    /// A file in the run directory, loaded once the plan has passed the guard.
    Spill {
        writer: BufWriter<std::fs::File>,
        path: PathBuf,
    },
    /// Straight into an open load transaction, a batch at a time (runs without limits).
    Stream {
        to_loader: std::sync::mpsc::SyncSender<Vec<u8>>,
        pending: Vec<u8>,
    },
}

impl Sink {
    /// One new or changed card; `known_card` is the card the cache remembers.
    pub(super) fn write(&mut self, line: &[u8], known_card: Option<i64>) -> std::result::Result<(), Halt> {
        match self {
            // Pass two finds the known card in the plan.
            Sink::Spill { writer, path } => writer
                .write_all(line)
                .map_err(|e| Halt::io("cannot write", path, e)),
            Sink::Stream { pending, .. } => {
                if let Some(card) = known_card {
                    let _ = write!(pending, "{card}");
                }
                pending.push(b'\t');
                pending.extend_from_slice(line);
                Ok(())
            }
        }
    }

    /// End of a batch: hand what was collected to the loader.
    pub(super) fn batch_done(&mut self) -> std::result::Result<(), Halt> {
        if let Sink::Stream { to_loader, pending } = self {
            if !pending.is_empty() && to_loader.send(std::mem::take(pending)).is_err() {
                // The loader has stopped; its own result says why.
                return Err(Halt::load(RunStatus::Failed, "the load ended early"));
            }
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> std::result::Result<(), Halt> {
        match self {
            Sink::Spill { writer, path } => writer.flush().map_err(|e| Halt::io("cannot write", path, e)),
            // Dropping the sender (with the sink) tells the loader there is no more.
            Sink::Stream { .. } => Ok(()),
        }
    }
}
