//! Python's `random.Random(seed)` (MT19937 with CPython's seeding), so that seeded
//! `random` and `shuffle` filters give the same numbers as Ansible, e.g. the common
//! `{{ 59 | random(seed=inventory_hostname) }}` cron minute.

use sha2::{Digest, Sha512};

const N: usize = 624;
const M: usize = 397;

pub struct PyRandom {
    mt: [u32; N],
    mti: usize,
}

impl PyRandom {
    /// `random.Random(s)` for a string seed (version 2 seeding: text + its sha512).
    pub fn from_str_seed(s: &str) -> Self {
        let mut bytes = s.as_bytes().to_vec();
        bytes.extend_from_slice(&Sha512::digest(s.as_bytes()));
        Self::from_be_bytes(&bytes)
    }

    /// `random.Random(n)` for an integer seed (its absolute value is used).
    pub fn from_int_seed(n: i128) -> Self {
        let n = n.unsigned_abs();
        Self::from_be_bytes(&n.to_be_bytes())
    }

    /// Seeded with a big-endian unsigned integer.
    fn from_be_bytes(bytes: &[u8]) -> Self {
        // The integer as little-endian 32-bit words, without high zero words.
        let mut words: Vec<u32> = bytes
            .rchunks(4)
            .map(|c| {
                let mut w = 0u32;
                for &b in c {
                    w = (w << 8) | b as u32;
                }
                w
            })
            .collect();
        while words.len() > 1 && *words.last().unwrap_or(&1) == 0 {
            words.pop();
        }
        if words.is_empty() {
            words.push(0);
        }
        let mut r = PyRandom {
            mt: [0; N],
            mti: N + 1,
        };
        r.init_by_array(&words);
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            self.mt[i] = 1812433253u32
                .wrapping_mul(self.mt[i - 1] ^ (self.mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        self.mti = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19650218);
        let (mut i, mut j) = (1usize, 0usize);
        let mut k = N.max(key.len());
        while k > 0 {
            self.mt[i] = (self.mt[i]
                ^ (self.mt[i - 1] ^ (self.mt[i - 1] >> 30)).wrapping_mul(1664525))
            .wrapping_add(key[j])
            .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
            k -= 1;
        }
        k = N - 1;
        while k > 0 {
            self.mt[i] = (self.mt[i]
                ^ (self.mt[i - 1] ^ (self.mt[i - 1] >> 30)).wrapping_mul(1566083941))
            .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            k -= 1;
        }
        self.mt[0] = 0x8000_0000;
    }

    pub fn genrand_u32(&mut self) -> u32 {
        const MAG: [u32; 2] = [0, 0x9908_b0df];
        if self.mti >= N {
            for kk in 0..N {
                let y = (self.mt[kk] & 0x8000_0000) | (self.mt[(kk + 1) % N] & 0x7fff_ffff);
                self.mt[kk] = self.mt[(kk + M) % N] ^ (y >> 1) ^ MAG[(y & 1) as usize];
            }
            self.mti = 0;
        }
        let mut y = self.mt[self.mti];
        self.mti += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `getrandbits(k)` for k up to 64.
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        if k == 0 {
            return 0;
        }
        if k <= 32 {
            return (self.genrand_u32() >> (32 - k)) as u64;
        }
        let lo = self.genrand_u32() as u64;
        let rest = k - 32;
        let hi = (self.genrand_u32() >> (32 - rest)) as u64;
        lo | (hi << 32)
    }

    /// `_randbelow(n)`.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randrange(start, stop, step)`; None when the range is empty.
    pub fn randrange(&mut self, start: i64, stop: i64, step: i64) -> Option<i64> {
        let width = stop.checked_sub(start)?;
        if step == 1 {
            return (width > 0).then(|| start + self.randbelow(width as u64) as i64);
        }
        if step == 0 {
            return None;
        }
        let n = if step > 0 {
            (width + step - 1) / step
        } else {
            (width + step + 1) / step
        };
        (n > 0).then(|| start + step * self.randbelow(n as u64) as i64)
    }

    /// `shuffle(list)` in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.randbelow(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn matches_cpython() {
        // random.Random('host1').randrange(0, 59) == 31 (checked with ansible's random filter)
        assert_eq!(
            PyRandom::from_str_seed("host1").randrange(0, 59, 1),
            Some(31)
        );
        let mut v = vec![1, 2, 3, 4, 5];
        PyRandom::from_str_seed("x").shuffle(&mut v);
        assert_eq!(v, vec![5, 2, 1, 4, 3]);
    }
}
