//! Starting the disk writes of a big load early (Linux). A load writes its
//! pages to the WAL file, and the checkpoint at commit copies them into the
//! database file; each step ends with an fsync that, for hundreds of MB
//! written into the page cache, would wait for the whole lot to reach the
//! disk at once. While a file grows, this helper thread syncs it again and
//! again (`fdatasync` on its own descriptor; SQLite's writes go on
//! meanwhile), so the disk works while the engine computes and the final
//! fsync finds little left. Extra syncs only ever add durability; SQLite's
//! own stay as they are. Linux only: elsewhere this does nothing until it is
//! measured there.

use std::path::PathBuf;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::Duration;

/// Writes out `path` in the background until dropped. Dropping it wakes the
/// thread at once: a short load (most scheduled runs) must not wait for it.
#[derive(Debug)]
pub struct Writeback {
    stop: Option<Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const EVERY: Duration = Duration::from_millis(100);

impl Writeback {
    pub fn start(path: PathBuf) -> Writeback {
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("provisio-writeback".into())
            .spawn(move || {
                let mut file = None;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    if file.is_none() {
                        file = std::fs::File::open(&path).ok();
                    }
                    if let Some(f) = &file {
                        start_writing(f);
                    }
                }
            })
            .ok();
        Writeback {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(target_os = "linux")]
fn start_writing(file: &std::fs::File) {
    let _ = file.sync_data();
}

#[cfg(not(target_os = "linux"))]
fn start_writing(_file: &std::fs::File) {}
