//! Throttling of failed logins: the policy alone, without I/O or a clock of
//! its own (every call takes `now`, so tests drive a virtual clock).
//!
//! Two independent sliding windows: failures per username (against guessing
//! one account's password) and failures per source address (against one host
//! trying a few passwords on many accounts). A login is refused while either
//! has reached its limit, until the oldest failure that counts leaves the
//! window.
//!
//! Who is refused:
//! - user X, once X's limit is reached: from every address (the password of X
//!   is what is being guessed, and the guesser can move between addresses);
//!   this lets anyone lock X out for one window, which is the usual price;
//! - anyone from address A, once A's limit is reached (more failures than
//!   one person mistyping a few passwords);
//! - not user Y from A while A is under its own limit: a burst of guesses on
//!   X is refused before it is checked, and only checked guesses count, so it
//!   adds at most X's limit to A's count.
//!
//! A success clears the username's failures, not the address's: otherwise a
//! guesser holding one valid account could wipe its address's count between
//! guesses at other accounts.
//!
//! Memory is bounded: each key keeps at most its limit of timestamps, and each
//! table at most `max_tracked_keys` keys; when a new key finds its table full,
//! the keys whose failures have all left the window go first, then the key
//! whose last failure is the oldest.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of one username within `window` that lock it.
    pub failures_per_account: usize,
    /// Failures from one address within `window` that lock it.
    pub failures_per_address: usize,
    pub window: Duration,
    /// Keys kept per table (usernames, addresses).
    pub max_tracked_keys: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            failures_per_account: 5,
            failures_per_address: 20,
            window: Duration::from_secs(300),
            max_tracked_keys: 10_000,
        }
    }
}

/// The recent failures of one key, oldest first; never more than the limit,
/// as older ones cannot matter any more.
#[derive(Debug, Default)]
struct FailureLog {
    recent: VecDeque<Instant>,
}

impl FailureLog {
    /// How long until a new attempt is allowed, if it is not allowed at `now`.
    fn wait(&self, limit: usize, window: Duration, now: Instant) -> Option<Duration> {
        if self.recent.len() < limit {
            return None;
        }
        let free_at = *self.recent.front()? + window;
        (free_at > now).then(|| free_at - now)
    }

    fn record(&mut self, limit: usize, now: Instant) {
        self.recent.push_back(now);
        while self.recent.len() > limit {
            self.recent.pop_front();
        }
    }

    fn latest(&self) -> Option<Instant> {
        self.recent.back().copied()
    }

    fn expired(&self, window: Duration, now: Instant) -> bool {
        self.latest().is_none_or(|latest| latest + window <= now)
    }
}

/// One table of failure logs (by username, or by address).
#[derive(Debug)]
struct FailureBook<K> {
    logs: HashMap<K, FailureLog>,
    limit: usize,
}

impl<K: Hash + Eq + Clone> FailureBook<K> {
    fn new(limit: usize) -> FailureBook<K> {
        FailureBook { logs: HashMap::new(), limit }
    }

    fn wait<Q: Hash + Eq + ?Sized>(&self, key: &Q, window: Duration, now: Instant) -> Option<Duration>
    where
        K: Borrow<Q>,
    {
        self.logs.get(key)?.wait(self.limit, window, now)
    }

    fn record(&mut self, key: K, window: Duration, max_keys: usize, now: Instant) {
        if !self.logs.contains_key(&key) && self.logs.len() >= max_keys {
            self.logs.retain(|_, log| !log.expired(window, now));
            if self.logs.len() >= max_keys {
                let stalest = self.logs.iter().min_by_key(|(_, log)| log.latest()).map(|(key, _)| key.clone());
                if let Some(stalest) = stalest {
                    self.logs.remove(&stalest);
                }
            }
        }
        self.logs.entry(key).or_default().record(self.limit, now);
    }
}

/// The address a failure is counted against: IPv4 as is, IPv6 by its /64
/// (one host commonly holds a whole /64), IPv4-mapped IPv6 as IPv4.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & (u128::MAX << 64))),
        },
    }
}

#[derive(Debug)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    accounts: FailureBook<String>,
    addresses: FailureBook<IpAddr>,
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> LoginThrottle {
        LoginThrottle {
            policy,
            accounts: FailureBook::new(policy.failures_per_account),
            addresses: FailureBook::new(policy.failures_per_address),
        }
    }

    pub fn policy(&self) -> ThrottlePolicy {
        self.policy
    }

    /// `Err(wait)` when a login of `username` from `address` must not even be
    /// checked at `now`; `wait` is the longer of the two locks.
    pub fn check(&self, username: &str, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let window = self.policy.window;
        let account = self.accounts.wait(username, window, now);
        let source = self.addresses.wait(&address_key(address), window, now);
        match account.max(source) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// A checked login whose password was wrong (or whose username is unknown).
    pub fn record_failure(&mut self, username: &str, address: IpAddr, now: Instant) {
        let ThrottlePolicy { window, max_tracked_keys, .. } = self.policy;
        self.accounts.record(username.to_string(), window, max_tracked_keys, now);
        self.addresses.record(address_key(address), window, max_tracked_keys, now);
    }

    pub fn record_success(&mut self, username: &str) {
        self.accounts.logs.remove(username);
    }

    /// (usernames, addresses) currently remembered.
    pub fn tracked_keys(&self) -> (usize, usize) {
        (self.accounts.logs.len(), self.addresses.logs.len())
    }
}

/// A `Retry-After` value: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let rounded_up = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    rounded_up.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy { failures_per_account: 3, failures_per_address: 5, window: Duration::from_secs(60), max_tracked_keys: 100 }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn an_account_locks_at_its_limit_and_frees_when_the_oldest_failure_leaves_the_window() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(policy());
        for at in [0, 10, 20] {
            assert_eq!(throttle.check("x", A, t0 + secs(at)), Ok(()));
            throttle.record_failure("x", A, t0 + secs(at));
        }
        // Locked until the first failure (t0) is 60 s old, from any address.
        assert_eq!(throttle.check("x", A, t0 + secs(21)), Err(secs(39)));
        assert_eq!(throttle.check("x", B, t0 + secs(59)), Err(secs(1)));
        assert_eq!(throttle.check("x", B, t0 + secs(60)), Ok(()));
        // One more failure at 60: the window now holds 10, 20, 60: locked until 70.
        throttle.record_failure("x", B, t0 + secs(60));
        assert_eq!(throttle.check("x", A, t0 + secs(61)), Err(secs(9)));
        assert_eq!(throttle.check("x", A, t0 + secs(70)), Ok(()));
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_lock() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(policy());
        for minute in 0..10 {
            let now = t0 + secs(minute * 31);
            assert_eq!(throttle.check("x", A, now), Ok(()), "minute {minute}");
            throttle.record_failure("x", A, now);
        }
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(policy());
        throttle.record_failure("x", A, t0);
        throttle.record_failure("x", A, t0);
        throttle.record_success("x");
        throttle.record_failure("x", A, t0);
        throttle.record_failure("x", A, t0);
        assert_eq!(throttle.check("x", B, t0), Ok(()), "2 failures since the success, limit 3");
        // The address saw 4 failures; one more locks it, for every user.
        throttle.record_success("x");
        throttle.record_failure("y", A, t0 + secs(1));
        assert_eq!(throttle.check("z", A, t0 + secs(1)), Err(secs(59)));
        assert_eq!(throttle.check("z", B, t0 + secs(1)), Ok(()));
    }

    #[test]
    fn one_locked_account_does_not_lock_other_accounts_nor_its_address() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(policy());
        for _ in 0..3 {
            throttle.record_failure("x", A, t0);
        }
        assert!(throttle.check("x", A, t0).is_err());
        assert!(throttle.check("x", B, t0).is_err());
        assert_eq!(throttle.check("y", A, t0), Ok(()), "A has 3 of its 5");
        assert_eq!(throttle.check("y", B, t0), Ok(()));
    }

    #[test]
    fn an_address_spraying_many_usernames_locks_itself_only() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(policy());
        for n in 0..5 {
            throttle.record_failure(&format!("user{n}"), A, t0 + secs(n));
        }
        assert_eq!(throttle.check("fresh", A, t0 + secs(5)), Err(secs(55)));
        assert_eq!(throttle.check("fresh", B, t0 + secs(5)), Ok(()));
        assert_eq!(throttle.check("user0", B, t0 + secs(5)), Ok(()), "one failure each");
        assert_eq!(throttle.check("fresh", A, t0 + secs(60)), Ok(()));
    }

    #[test]
    fn the_longer_lock_wins() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(policy());
        for n in 0..5 {
            throttle.record_failure(&format!("u{n}"), A, t0 + secs(n));
        }
        for n in 0..3 {
            throttle.record_failure("x", B, t0 + secs(30 + n));
        }
        // A frees at 60, x at 90.
        assert_eq!(throttle.check("x", A, t0 + secs(40)), Err(secs(50)));
        assert_eq!(throttle.check("u9", A, t0 + secs(40)), Err(secs(20)));
    }

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_ipv4_as_ipv4() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(policy());
        for n in 0..5u16 {
            let address = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, n, n, n, n));
            throttle.record_failure(&format!("u{n}"), address, t0);
        }
        let same_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        let other_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(throttle.check("v", same_64, t0).is_err());
        assert_eq!(throttle.check("v", other_64, t0), Ok(()));
        let mapped = IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201));
        assert_eq!(address_key(mapped), A);
    }

    #[test]
    fn a_flood_of_usernames_never_grows_the_tables_past_the_cap() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(ThrottlePolicy { max_tracked_keys: 10, ..policy() });
        for n in 0..1000 {
            let address = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            throttle.record_failure(&format!("user{n}"), address, t0 + Duration::from_millis(u64::from(n)));
            let (usernames, addresses) = throttle.tracked_keys();
            assert!(usernames <= 10 && addresses <= 10, "{usernames} {addresses} after {n}");
        }
        // The stalest went: the last ten are the ones kept.
        let kept: Vec<&String> = throttle.accounts.logs.keys().collect();
        assert!(kept.iter().all(|name| name.trim_start_matches("user").parse::<u32>().unwrap() >= 990), "{kept:?}");
        // And each key keeps at most its limit of timestamps.
        for n in 0..50 {
            throttle.record_failure("busy", A, t0 + secs(200 + n));
        }
        assert_eq!(throttle.accounts.logs["busy"].recent.len(), 3);
        assert_eq!(throttle.addresses.logs[&A].recent.len(), 5);
    }

    #[test]
    fn expired_keys_are_evicted_before_live_ones() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(ThrottlePolicy { max_tracked_keys: 3, failures_per_address: 1000, ..policy() });
        for _ in 0..3 {
            throttle.record_failure("victim", A, t0 + secs(50));
        }
        throttle.record_failure("stale1", A, t0);
        throttle.record_failure("stale2", A, t0);
        // At 70 the stale ones have left the window; the victim's lock has not.
        throttle.record_failure("fresh", A, t0 + secs(70));
        assert_eq!(throttle.tracked_keys().0, 2);
        assert_eq!(throttle.check("victim", B, t0 + secs(70)), Err(secs(40)));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
