//! Timestamps as flow tools need them: seconds since the UNIX epoch plus nanoseconds, kept
//! with the precision they were measured in, and printed as RFC 3339 UTC without allocating.
//!
//! `std::time::SystemTime` cannot represent the NTP-era values IPFIX carries before 1970 and
//! carries no precision, and formatting through a date crate on every record is the hot path of
//! `decode -o json`, so the civil-date conversion lives here (Howard Hinnant's days_from_civil).

use std::fmt;

/// How many fractional digits a timestamp was measured with; decides how it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Precision {
    #[default]
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl Precision {
    fn digits(self) -> usize {
        match self {
            Precision::Seconds => 0,
            Precision::Millis => 3,
            Precision::Micros => 6,
            Precision::Nanos => 9,
        }
    }
}

/// A point in time: `secs` since 1970-01-01T00:00:00Z (may be negative) and `nanos` in
/// `0..1_000_000_000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
    pub precision: Precision,
}

/// Seconds between the NTP era 0 origin (1900-01-01) and the UNIX epoch.
pub const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

impl Timestamp {
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp { secs, nanos: 0, precision: Precision::Seconds }
    }

    pub const fn from_millis(ms: i64) -> Self {
        Timestamp {
            secs: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) as u32) * 1_000_000,
            precision: Precision::Millis,
        }
    }

    pub const fn from_micros(us: i64) -> Self {
        Timestamp {
            secs: us.div_euclid(1_000_000),
            nanos: (us.rem_euclid(1_000_000) as u32) * 1000,
            precision: Precision::Micros,
        }
    }

    pub const fn from_nanos(ns: i128) -> Self {
        Timestamp {
            secs: ns.div_euclid(1_000_000_000) as i64,
            nanos: ns.rem_euclid(1_000_000_000) as u32,
            precision: Precision::Nanos,
        }
    }

    /// A 64-bit NTP timestamp (RFC 7011 §6.1.9/10): 32 bits of seconds since 1900 and a 32-bit
    /// binary fraction. For dateTimeMicroseconds the low 11 fraction bits are not significant.
    pub fn from_ntp(raw: u64, precision: Precision) -> Self {
        let secs = (raw >> 32) as i64 - NTP_UNIX_OFFSET;
        let mut frac = raw & 0xffff_ffff;
        if precision == Precision::Micros {
            frac &= !0x7ff;
        }
        // Round to the nearest nanosecond: a fraction of 2^-32 s is about 0.23 ns.
        let mut nanos = ((frac * 1_000_000_000 + (1 << 31)) >> 32) as u32;
        if precision == Precision::Micros {
            // The 11 dropped bits are worth up to 0.477 µs, so round to the nearest microsecond.
            nanos = (nanos + 500) / 1000 * 1000;
        }
        let mut secs = secs;
        if nanos >= 1_000_000_000 {
            nanos -= 1_000_000_000;
            secs += 1;
        }
        Timestamp { secs, nanos, precision }
    }

    /// The inverse of [`Timestamp::from_ntp`], used by the encoder.
    pub fn to_ntp(self) -> u64 {
        let secs = (self.secs + NTP_UNIX_OFFSET) as u64 & 0xffff_ffff;
        let frac = ((self.nanos as u64) << 32).div_ceil(1_000_000_000);
        (secs << 32) | frac.min(0xffff_ffff)
    }

    pub fn with_precision(self, precision: Precision) -> Self {
        Timestamp { precision, ..self }
    }

    pub fn as_millis(self) -> i64 {
        self.secs * 1000 + (self.nanos / 1_000_000) as i64
    }

    /// The current time, to the microsecond.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp { secs: d.as_secs() as i64, nanos: d.subsec_micros() * 1000, precision: Precision::Micros }
    }

    /// Writes `YYYY-MM-DDThh:mm:ss[.fraction]Z` into `out`; returns the number of bytes. The
    /// buffer is large enough for any year from -9999 to 9999 (years outside are clamped).
    pub fn write_rfc3339(self, out: &mut [u8; 32]) -> usize {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        let y = y.clamp(0, 9999) as u32;
        let mut n = 0;
        let put2 = |out: &mut [u8; 32], n: &mut usize, v: u32| {
            out[*n] = b'0' + (v / 10) as u8;
            out[*n + 1] = b'0' + (v % 10) as u8;
            *n += 2;
        };
        put2(out, &mut n, y / 100);
        put2(out, &mut n, y % 100);
        out[n] = b'-';
        n += 1;
        put2(out, &mut n, m);
        out[n] = b'-';
        n += 1;
        put2(out, &mut n, d);
        out[n] = b'T';
        n += 1;
        put2(out, &mut n, sod / 3600);
        out[n] = b':';
        n += 1;
        put2(out, &mut n, sod / 60 % 60);
        out[n] = b':';
        n += 1;
        put2(out, &mut n, sod % 60);
        let digits = self.precision.digits();
        if digits > 0 {
            out[n] = b'.';
            n += 1;
            let mut frac = self.nanos;
            let mut tmp = [b'0'; 9];
            for slot in tmp.iter_mut().rev() {
                *slot = b'0' + (frac % 10) as u8;
                frac /= 10;
            }
            out[n..n + digits].copy_from_slice(&tmp[..digits]);
            n += digits;
        }
        out[n] = b'Z';
        n + 1
    }
}

/// Formats many timestamps that share their seconds (the records of one message usually do,
/// with a start and an end time each): the date and time of day are computed once per distinct
/// second and kept in a small direct-mapped cache.
#[derive(Clone, Debug, Default)]
pub struct Rfc3339Cache {
    slots: [(Option<i64>, [u8; 32], u8); 4],
}

impl Rfc3339Cache {
    /// Appends `t` as RFC 3339 to `out`.
    #[inline]
    pub fn write(&mut self, t: Timestamp, out: &mut Vec<u8>) {
        let slot = &mut self.slots[(t.secs & 3) as usize];
        if slot.0 != Some(t.secs) {
            let whole = Timestamp { secs: t.secs, nanos: 0, precision: Precision::Seconds };
            // Without the trailing 'Z'.
            slot.2 = (whole.write_rfc3339(&mut slot.1) - 1) as u8;
            slot.0 = Some(t.secs);
        }
        // Fixed-size copies, trimmed after: they compile to moves instead of memcpy calls.
        let at = out.len();
        out.extend_from_slice(&slot.1);
        out.truncate(at + slot.2 as usize);
        // The fraction and 'Z' are assembled in a register and stored at once.
        let digits = t.precision.digits();
        let mut n = t.nanos / [1, 1_000_000, 1000, 1, 1][digits / 3];
        let mut word = b'Z' as u128;
        for _ in 0..digits {
            word = (word << 8) | (b'0' + (n % 10) as u8) as u128;
            n /= 10;
        }
        let len = if digits > 0 {
            word = (word << 8) | b'.' as u128;
            digits + 2
        } else {
            1
        };
        let at = out.len();
        out.extend_from_slice(&word.to_le_bytes());
        out.truncate(at + len);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 32];
        let n = self.write_rfc3339(&mut buf);
        // Only ASCII digits and separators are ever written.
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_rfc3339() {
        assert_eq!(Timestamp::from_secs(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_secs(1_662_710_767).to_string(), "2022-09-09T08:06:07Z");
        assert_eq!(Timestamp::from_micros(1_662_710_767_123_456).to_string(), "2022-09-09T08:06:07.123456Z");
        assert_eq!(Timestamp::from_millis(951_782_400_001).to_string(), "2000-02-29T00:00:00.001Z");
        assert_eq!(Timestamp::from_millis(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(Timestamp::from_nanos(4_102_444_800_000_000_001).to_string(), "2100-01-01T00:00:00.000000001Z");
    }

    #[test]
    fn the_cache_formats_like_display() {
        let mut cache = Rfc3339Cache::default();
        for t in [
            Timestamp::from_micros(1_662_710_767_123_456),
            Timestamp::from_micros(1_662_710_767_000_001),
            Timestamp::from_millis(1_662_710_768_999),
            Timestamp::from_secs(1_662_710_768),
            Timestamp::from_nanos(1_662_710_768_000_000_007),
            Timestamp::from_secs(-86_401),
        ] {
            let mut out = Vec::new();
            cache.write(t, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), t.to_string());
        }
    }

    #[test]
    fn ntp_round_trip_keeps_nanoseconds() {
        for ns in [0i128, 1, 999_999_999, 1_662_710_767_123_456_789] {
            let t = Timestamp::from_nanos(ns);
            assert_eq!(Timestamp::from_ntp(t.to_ntp(), Precision::Nanos), t);
        }
        // NTP origin is 1900-01-01.
        assert_eq!(Timestamp::from_ntp(0, Precision::Nanos).to_string(), "1900-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn ntp_microseconds_ignore_low_fraction_bits() {
        let t = Timestamp::from_micros(1_662_710_767_123_456);
        let raw = t.to_ntp() | 0x7ff;
        assert_eq!(Timestamp::from_ntp(raw, Precision::Micros), t);
    }
}
