//! Password hashing (argon2id) on a fixed pool of threads with a bounded queue, off the game
//! loop so hashing never stalls other players' commands.
//!
//! Why a pool of our own: argon2id needs `argon2_memory_kib` of scratch memory per hash (19 MiB by
//! default). One blocking task per request let a login storm run hundreds of hashes at once and
//! left gigabytes in the allocator's per-thread arenas. Here each thread owns one scratch buffer,
//! reused for every hash while jobs keep coming and freed when the queue runs dry (a buffer this
//! size is its own mapping, so freeing it gives the memory back to the OS). Memory is at most
//! `threads × memory_kib` however many requests arrive; requests beyond the queue are refused at
//! once ("busy, try again").

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Told to a player whose login or account creation found the hashing queue full.
pub const BUSY_TEXT: &str =
    "The server is busy checking other logins. Please try again in a moment.";

/// Length of the hash we store (argon2's default output length).
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;

/// Work for one pool thread: it gets the thread's [`PasswordHasher`] (and its buffer).
pub type HashJob = Box<dyn FnOnce(&mut PasswordHasher) + Send>;

/// The queue was full (or the pool has stopped); the job is handed back.
pub struct Busy(pub HashJob);

/// A fixed set of hashing threads fed by a bounded queue. Dropping the pool lets the threads
/// finish the queued jobs and exit.
pub struct HashPool {
    tx: SyncSender<HashJob>,
    threads: usize,
    /// Jobs submitted and not yet taken by a thread.
    queued: Arc<AtomicUsize>,
}

impl HashPool {
    /// `threads` workers (0 = one per core) and room for `queue` waiting jobs, hashing with
    /// `memory_kib` KiB and `iterations` passes (one lane).
    pub fn new(threads: usize, queue: usize, memory_kib: u32, iterations: u32) -> HashPool {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        } else {
            threads
        };
        let (tx, rx) = sync_channel::<HashJob>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let dummy = Arc::new(OnceLock::new());
        let queued = Arc::new(AtomicUsize::new(0));
        for i in 0..threads {
            let (rx, dummy, queued) = (rx.clone(), dummy.clone(), queued.clone());
            let spawned =
                std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
                    worker(&rx, &queued, PasswordHasher::with_dummy(memory_kib, iterations, dummy))
                });
            if let Err(e) = spawned {
                tracing::error!(cause = %e, "cannot start a password hashing thread");
            }
        }
        HashPool { tx, threads, queued }
    }

    /// Queue a job without waiting; `Err(Busy)` when the queue is full.
    pub fn submit(&self, job: HashJob) -> Result<(), Busy> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        self.tx.try_send(job).map_err(|e| {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            match e {
                TrySendError::Full(j) | TrySendError::Disconnected(j) => Busy(j),
            }
        })
    }

    /// Number of hashing threads.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

fn worker(rx: &Mutex<Receiver<HashJob>>, queued: &AtomicUsize, mut hasher: PasswordHasher) {
    loop {
        if queued.load(Ordering::SeqCst) == 0 {
            // Nothing waiting: give the scratch memory back before sleeping.
            hasher.release();
        }
        // The lock is held only while waiting for the next job, not while hashing. Poisoning
        // would need a panic inside `recv`, which does not run user code.
        let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        queued.fetch_sub(1, Ordering::SeqCst);
        job(&mut hasher);
    }
}

/// Hashes and verifies passwords with the configured argon2id cost, reusing one scratch buffer.
pub struct PasswordHasher {
    params: Params,
    /// Scratch memory, allocated on first use and kept.
    blocks: Vec<Block>,
    /// Hash checked when a login names an unknown account, so both cases cost the same.
    dummy: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    /// A hasher with `memory_kib` memory cost and `iterations` passes (one lane).
    pub fn new(memory_kib: u32, iterations: u32) -> PasswordHasher {
        PasswordHasher::with_dummy(memory_kib, iterations, Arc::new(OnceLock::new()))
    }

    fn with_dummy(
        memory_kib: u32,
        iterations: u32,
        dummy: Arc<OnceLock<String>>,
    ) -> PasswordHasher {
        let params = Params::new(memory_kib.max(8), iterations.max(1), 1, Some(OUTPUT_LEN))
            .unwrap_or_else(|_| Params::default());
        PasswordHasher { params, blocks: Vec::new(), dummy }
    }

    /// Free the scratch buffer (the next hash allocates it again).
    pub fn release(&mut self) {
        self.blocks = Vec::new();
    }

    /// Whether the scratch buffer is currently allocated.
    pub fn holds_buffer(&self) -> bool {
        !self.blocks.is_empty()
    }

    fn argon(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Raw argon2id of `password` and `salt` with our parameters, in the reused buffer.
    fn raw(&mut self, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
        let need = self.params.block_count();
        if self.blocks.len() != need {
            self.blocks = vec![Block::new(); need];
        }
        Self::argon(self.params.clone()).hash_password_into_with_memory(
            password,
            salt,
            out,
            &mut self.blocks[..],
        )
    }

    /// Hash a password into a PHC string.
    pub fn hash(&mut self, password: &str) -> Result<String, String> {
        let salt_bytes = rand::random::<[u8; 16]>();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
        let mut out = [0u8; OUTPUT_LEN];
        self.raw(password.as_bytes(), &salt_bytes, &mut out).map_err(|e| e.to_string())?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| e.to_string())?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
        };
        Ok(phc.to_string())
    }

    /// Check a password against a stored hash; `None` checks a dummy hash and fails.
    pub fn verify(&mut self, hash: Option<&str>, password: &str) -> bool {
        let phc = match hash {
            Some(h) => h.to_string(),
            None => {
                let dummy = self.dummy.get().cloned();
                let dummy = match dummy {
                    Some(d) => d,
                    None => {
                        let d = self.hash("not a real password").unwrap_or_default();
                        self.dummy.get_or_init(|| d).clone()
                    }
                };
                dummy
            }
        };
        let Ok(parsed) = PasswordHash::new(&phc) else { return false };
        let ok = if self.matches_params(&parsed) {
            self.verify_in_buffer(&parsed, password)
        } else {
            // A hash made with other settings (the config changed since): argon2's own check,
            // which allocates its own memory once.
            Self::argon(Params::default()).verify_password(password.as_bytes(), &parsed).is_ok()
        };
        ok && hash.is_some()
    }

    fn matches_params(&self, parsed: &PasswordHash<'_>) -> bool {
        parsed.algorithm == Algorithm::Argon2id.ident()
            && parsed.version == Some(Version::V0x13.into())
            && Params::try_from(parsed).is_ok_and(|p| {
                p.m_cost() == self.params.m_cost()
                    && p.t_cost() == self.params.t_cost()
                    && p.p_cost() == 1
            })
            && parsed.hash.is_some_and(|h| h.len() == OUTPUT_LEN)
    }

    fn verify_in_buffer(&mut self, parsed: &PasswordHash<'_>, password: &str) -> bool {
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
        let mut salt_buf = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else { return false };
        let mut out = [0u8; OUTPUT_LEN];
        if self.raw(password.as_bytes(), salt_bytes, &mut out).is_err() {
            return false;
        }
        // Output's equality is constant-time.
        Output::new(&out).is_ok_and(|o| o == expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher as _;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let mut h = PasswordHasher::new(64, 1);
        let phc = h.hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify(Some(&phc), "correct horse"));
        assert!(!h.verify(Some(&phc), "wrong horse"));
        assert!(!h.verify(None, "not a real password"));
    }

    #[test]
    fn our_hashes_are_standard_phc_strings_both_ways() {
        let mut h = PasswordHasher::new(64, 2);
        let ours = h.hash("pw12345678").unwrap();
        let argon =
            Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(64, 2, 1, None).unwrap());
        assert!(argon.verify_password(b"pw12345678", &PasswordHash::new(&ours).unwrap()).is_ok());
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let theirs = argon.hash_password(b"pw12345678", &salt).unwrap().to_string();
        assert!(h.verify(Some(&theirs), "pw12345678"));
        assert!(!h.verify(Some(&theirs), "pw12345679"));
        // Made with other settings: still checked correctly.
        let mut other = PasswordHasher::new(128, 1);
        assert!(other.verify(Some(&theirs), "pw12345678"));
        assert!(!other.verify(Some("not a phc string"), "pw12345678"));
    }

    #[test]
    fn a_full_queue_refuses_at_once_and_queued_jobs_all_run() {
        let pool = HashPool::new(1, 2, 8, 1);
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<usize>();
        // The one thread is held by the first job; two more fill the queue.
        pool.submit(Box::new(move |_| {
            let _ = gate_rx.recv();
        }))
        .ok()
        .unwrap();
        // Wait until the worker has taken the first job off the queue.
        let mut queued = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while queued < 2 {
            let done = done_tx.clone();
            match pool.submit(Box::new(move |h| {
                let phc = h.hash("x").unwrap();
                done.send(usize::from(h.verify(Some(&phc), "x"))).unwrap();
            })) {
                Ok(()) => queued += 1,
                Err(_) => {
                    assert!(std::time::Instant::now() < deadline, "the worker never took a job")
                }
            }
        }
        assert!(pool.submit(Box::new(|_| {})).is_err(), "a third waiting job must be refused");
        gate_tx.send(()).unwrap();
        let ok: usize =
            (0..2).map(|_| done_rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap()).sum();
        assert_eq!(ok, 2);
    }

    #[test]
    fn the_scratch_buffer_is_kept_between_hashes_and_freed_when_idle() {
        let pool = HashPool::new(1, 4, 64, 1);
        let (tx, rx) = std::sync::mpsc::channel::<bool>();
        let t = tx.clone();
        pool.submit(Box::new(move |h| {
            h.hash("x").unwrap();
            t.send(h.holds_buffer()).unwrap();
        }))
        .ok()
        .unwrap();
        assert!(
            rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap(),
            "held right after a hash"
        );
        // Once the thread has found the queue empty, the buffer is gone.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let t = tx.clone();
            pool.submit(Box::new(move |h| t.send(h.holds_buffer()).unwrap())).ok().unwrap();
            if !rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the buffer was never freed");
        }
    }
}
