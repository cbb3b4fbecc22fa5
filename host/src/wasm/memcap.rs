//! The guest memory cap as a store limiter whose refusal is a typed error, so a call that ran
//! out of memory is recognised by type ([`MemoryRefused`]) rather than by the text of
//! wasmtime's `StoreLimits` error (which is an untyped `bail!`).

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// A guest asked to grow its memory past the cap: the call traps with this error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("memory growth to {desired} bytes refused")]
pub struct MemoryRefused {
    /// The size the guest asked for, in bytes.
    pub desired: usize,
}

/// `StoreLimits` with the memory cap, trapping with [`MemoryRefused`] where it would refuse.
pub struct MemoryCap(StoreLimits);

impl MemoryCap {
    /// A cap of `bytes` of linear memory per instance.
    pub fn new(bytes: usize) -> MemoryCap {
        MemoryCap(StoreLimitsBuilder::new().memory_size(bytes).build())
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A refused growth traps instead of answering -1: guests (Rust's allocator) abort on
        // -1 with a message that does not say memory, or worse, carry on.
        match self.0.memory_growing(current, desired, maximum)? {
            true => Ok(true),
            false => Err(MemoryRefused { desired }.into()),
        }
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.0.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.0.instances()
    }

    fn tables(&self) -> usize {
        self.0.tables()
    }

    fn memories(&self) -> usize {
        self.0.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_past_the_cap_is_a_typed_refusal_and_within_it_allowed() {
        let mut cap = MemoryCap::new(1 << 20);
        assert!(cap.memory_growing(0, 1 << 20, None).unwrap());
        let err = cap.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        assert_eq!(err.downcast_ref::<MemoryRefused>(), Some(&MemoryRefused { desired: 2 << 20 }));
    }
}
