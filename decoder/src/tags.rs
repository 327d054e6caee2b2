//! Tag schemes and the hard constraints they imply: which tag may follow which, which may start and which
//! may end a sequence. Derived automatically from tag names (BMES, BIO, BIOES, typed or not), or given
//! explicitly in the model.

use crate::error::ModelError;
use crate::limits::MAX_TAGS;

/// The scheme recognised from the tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TagScheme {
    /// `B M E S` (word segmentation): begin, middle, end, single.
    Bmes,
    /// `B-X I-X O` chunks (possibly untyped `B I O`).
    Bio,
    /// `B-X I-X E-X S-X O` chunks (possibly untyped).
    Bioes,
    /// Names that follow no known scheme: every transition allowed.
    Unconstrained,
    /// Constraints given explicitly in the model file.
    Custom,
}

/// Hard constraints as bitmasks over tags (bit `j` = tag `j`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Constraints {
    /// `next[i]`: the tags allowed to follow tag `i`.
    pub next: [u16; MAX_TAGS],
    /// Tags allowed at the first position.
    pub start: u16,
    /// Tags allowed at the last position.
    pub end: u16,
    /// Number of tags `L`; bits at and above `L` are always clear.
    pub num_tags: usize,
}

impl Constraints {
    /// Everything allowed among `num_tags` tags (`num_tags <= MAX_TAGS`).
    pub const fn unconstrained(num_tags: usize) -> Self {
        let all = all_tags(num_tags);
        let mut next = [0u16; MAX_TAGS];
        let mut i = 0;
        while i < num_tags && i < MAX_TAGS {
            next[i] = all;
            i += 1;
        }
        Self { next, start: all, end: all, num_tags }
    }

    /// May tag `to` follow tag `from`?
    #[inline]
    pub const fn allows(&self, from: usize, to: usize) -> bool {
        from < MAX_TAGS && to < 16 && self.next[from] & (1 << to) != 0
    }

    /// May a sequence start with `tag`?
    #[inline]
    pub const fn allows_start(&self, tag: usize) -> bool {
        tag < 16 && self.start & (1 << tag) != 0
    }

    /// May a sequence end with `tag`?
    #[inline]
    pub const fn allows_end(&self, tag: usize) -> bool {
        tag < 16 && self.end & (1 << tag) != 0
    }

    /// Is a whole tag sequence allowed (start, every transition, end)? Empty sequences are allowed.
    pub fn allows_sequence(&self, tags: &[u8]) -> bool {
        let (Some(&first), Some(&last)) = (tags.first(), tags.last()) else { return true };
        self.allows_start(usize::from(first))
            && self.allows_end(usize::from(last))
            && tags.windows(2).all(|w| self.allows(usize::from(w[0]), usize::from(w[1])))
    }

    /// Checks everything the decoder relies on and returns the primitivity exponent `k`:
    ///
    /// - `num_tags` is in `1..=MAX_TAGS` ([`ModelError::BadTagCount`]) and no bit at or above `num_tags` is
    ///   set ([`ModelError::BadConstraint`]);
    /// - some tag may start, some may end, and every sequence length `T >= 1` has at least one allowed tag
    ///   sequence ([`ModelError::UnusableConstraints`]); the lengths `1..=(L-1)^2+2` are checked, which
    ///   together with primitivity covers every length;
    /// - the allowed-transition graph is primitive ([`ModelError::TransitionGraphNotPrimitive`]).
    pub fn validate(&self) -> Result<usize, ModelError> {
        let l = self.num_tags;
        if l == 0 || l > MAX_TAGS {
            return Err(ModelError::BadTagCount { count: l });
        }
        let all = all_tags(l);
        if self.start & !all != 0
            || self.end & !all != 0
            || self.next.iter().enumerate().any(|(i, &n)| n & !all != 0 || (i >= l && n != 0))
        {
            return Err(ModelError::BadConstraint);
        }
        if self.start == 0 || self.end == 0 {
            return Err(ModelError::UnusableConstraints);
        }
        // reach: the tags that end some allowed sequence of length `len`.
        let mut reach = self.start;
        for _len in 1..=(l - 1) * (l - 1) + 2 {
            if reach & self.end == 0 {
                return Err(ModelError::UnusableConstraints);
            }
            reach = self.successors(reach);
        }
        self.primitive_exponent().ok_or(ModelError::TransitionGraphNotPrimitive)
    }

    /// The tags that may follow some tag of `tags`.
    #[inline]
    pub fn successors(&self, tags: u16) -> u16 {
        let mut out = 0;
        let mut rest = tags;
        while rest != 0 {
            out |= self.next[(rest.trailing_zeros() as usize) & (MAX_TAGS - 1)];
            rest &= rest - 1;
        }
        out
    }

    /// The tags `t` from which, for every remaining length `r >= 1`, some allowed path of exactly `r`
    /// transitions ends on an allowed end tag. A streaming decoder that must force a cut picks its state
    /// among these so the rest of the sequence can still end legally. For the BMES, BIO and BIOES schemes
    /// every tag qualifies. `k` is the primitivity exponent (paths of `k` or more steps reach every tag).
    pub fn completable(&self, k: usize) -> u16 {
        let mut out = 0u16;
        for tag in 0..self.num_tags.min(MAX_TAGS) {
            let mut reach = 1u16 << tag;
            let mut ok = true;
            for _ in 0..k.max(1) {
                reach = self.successors(reach);
                if reach & self.end == 0 {
                    ok = false;
                    break;
                }
            }
            if ok {
                out |= 1 << tag;
            }
        }
        out
    }

    /// The primitivity exponent of the allowed-transition graph: the least `k` such that every tag can
    /// reach every tag in exactly `k` steps, or `None` if there is none (graph not strongly connected or
    /// periodic). Wielandt's bound `(L-1)^2 + 1` limits the search.
    pub fn primitive_exponent(&self) -> Option<usize> {
        let l = self.num_tags;
        if l == 0 || l > MAX_TAGS {
            return None;
        }
        let all = all_tags(l);
        let mut reach = self.next; // reach[i]: tags reachable from i in exactly k steps
        for k in 1..=(l - 1) * (l - 1) + 1 {
            if reach[..l].iter().all(|&r| r == all) {
                return Some(k);
            }
            let mut step = [0u16; MAX_TAGS];
            for (i, s) in step[..l].iter_mut().enumerate() {
                for j in 0..l {
                    if reach[i] & (1 << j) != 0 {
                        *s |= self.next[j];
                    }
                }
            }
            reach = step;
        }
        None
    }
}

/// The bitmask of tags `0..num_tags` (all 16 bits for `num_tags >= 16`).
pub const fn all_tags(num_tags: usize) -> u16 {
    if num_tags >= 16 {
        u16::MAX
    } else {
        (1u16 << num_tags) - 1
    }
}

/// Position-in-chunk role a tag name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// `B`: first unit of a chunk of several units.
    Begin,
    /// `I` or `M`: inside a chunk, neither first nor last.
    Inside,
    /// `E` or `L`: last unit of a chunk of several units.
    End,
    /// `S` or `U`: a chunk of one unit.
    Single,
    /// `O`: outside any chunk (a chunk of its own for segmentation).
    Outside,
}

impl Role {
    /// True when a chunk ends right after a tag of this role (End, Single, Outside).
    pub const fn closes_chunk(self) -> bool {
        matches!(self, Self::End | Self::Single | Self::Outside)
    }

    /// True when a chunk starts at a tag of this role (Begin, Single, Outside).
    pub const fn opens_chunk(self) -> bool {
        matches!(self, Self::Begin | Self::Single | Self::Outside)
    }
}

/// Splits `"B-PER"`, `"b_per"`, `"S"` or `"O"` into role and type (empty when untyped); `None` for a name
/// that follows no known scheme.
pub fn parse_tag(name: &str) -> Option<(Role, &str)> {
    let mut chars = name.chars();
    let role = match chars.next()?.to_ascii_uppercase() {
        'B' => Role::Begin,
        'I' | 'M' => Role::Inside,
        'E' | 'L' => Role::End,
        'S' | 'U' => Role::Single,
        'O' => Role::Outside,
        _ => return None,
    };
    let rest = chars.as_str();
    let kind = match rest.strip_prefix('-').or_else(|| rest.strip_prefix('_')) {
        Some(kind) if !kind.is_empty() && role != Role::Outside => kind,
        None if rest.is_empty() => "",
        _ => return None,
    };
    Some((role, kind))
}

/// Recognises the scheme of `names` and derives its constraints. Names must number `1..=MAX_TAGS`.
pub fn derive_constraints<'a>(names: impl Iterator<Item = &'a str> + Clone) -> (TagScheme, Constraints) {
    let num_tags = names.clone().count().min(MAX_TAGS);
    let mut parsed = [(Role::Outside, ""); MAX_TAGS];
    for (slot, name) in parsed.iter_mut().zip(names) {
        match parse_tag(name) {
            Some(p) => *slot = p,
            None => return (TagScheme::Unconstrained, Constraints::unconstrained(num_tags)),
        }
    }
    let parsed = &parsed[..num_tags];
    let has = |role: Role| parsed.iter().any(|&(r, _)| r == role);
    let is_bmes = num_tags == 4
        && !has(Role::Outside)
        && parsed.iter().all(|&(_, k)| k.is_empty())
        && [Role::Begin, Role::Inside, Role::End, Role::Single].iter().all(|&r| has(r));
    let scheme = if is_bmes {
        TagScheme::Bmes
    } else if has(Role::End) || has(Role::Single) {
        TagScheme::Bioes
    } else {
        TagScheme::Bio
    };
    // BIO has no E/S: a chunk ends wherever the next tag does not continue it.
    let chunk_may_end_anywhere = scheme == TagScheme::Bio;
    let mut c = Constraints { next: [0; MAX_TAGS], start: 0, end: 0, num_tags };
    for (i, &(role_i, kind_i)) in parsed.iter().enumerate() {
        let open = matches!(role_i, Role::Begin | Role::Inside);
        if matches!(role_i, Role::Begin | Role::Single | Role::Outside) {
            c.start |= 1 << i;
        }
        if !open || chunk_may_end_anywhere {
            c.end |= 1 << i;
        }
        for (j, &(role_j, kind_j)) in parsed.iter().enumerate() {
            let continues = matches!(role_j, Role::Inside | Role::End) && kind_j == kind_i;
            let starts_new = matches!(role_j, Role::Begin | Role::Single | Role::Outside);
            let allowed = if open { continues || (chunk_may_end_anywhere && starts_new) } else { starts_new };
            if allowed {
                c.next[i] |= 1 << j;
            }
        }
    }
    (scheme, c)
}

/// The hard constraints of IOB1 chunks (CoNLL-2003): tags `O`, `I-X` and `B-X`, where `I-X` may start a
/// chunk (after anything) and `B-X` appears only right after a chunk of the same type `X`, to separate
/// two adjacent chunks. So a sequence starts with `O` or an `I` tag, `B-X` follows only `I-X` or `B-X`,
/// and every tag may end. IOB1 uses IOB2's names, so a model stores these as custom constraints. Names
/// that are not `O`, `B-X` or `I-X` (or more than `MAX_TAGS`) give `None`.
pub fn iob1_constraints<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Option<Constraints> {
    let num_tags = names.clone().count();
    if num_tags == 0 || num_tags > MAX_TAGS {
        return None;
    }
    let mut parsed = [(Role::Outside, ""); MAX_TAGS];
    for (slot, name) in parsed.iter_mut().zip(names) {
        *slot = parse_tag(name).filter(|(r, _)| matches!(r, Role::Begin | Role::Inside | Role::Outside))?;
    }
    let parsed = &parsed[..num_tags];
    let mut c = Constraints { next: [0; MAX_TAGS], start: 0, end: all_tags(num_tags), num_tags };
    for (j, &(role_j, kind_j)) in parsed.iter().enumerate() {
        if role_j != Role::Begin {
            c.start |= 1 << j;
        }
        for (i, &(role_i, kind_i)) in parsed.iter().enumerate() {
            let allowed = match role_j {
                Role::Begin => role_i != Role::Outside && kind_i == kind_j,
                _ => true,
            };
            if allowed {
                c.next[i] |= 1 << j;
            }
        }
    }
    Some(c)
}

/// Which tags open and which close a word, as bitmasks over tags (bit `i` = tag `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRoles {
    /// Tags at which a new word starts (Begin, Single, Outside, unknown).
    pub opens: u16,
    /// Tags after which a word ends (End, Single, Outside, unknown).
    pub closes: u16,
}

impl ChunkRoles {
    /// The roles of tags named `names` (tag `i` is the `i`-th name; names past `MAX_TAGS` are ignored).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut roles = Self { opens: 0, closes: 0 };
        for (i, name) in names.into_iter().enumerate().take(MAX_TAGS) {
            let (opens, closes) = match parse_tag(name) {
                Some((role, _)) => (role.opens_chunk(), role.closes_chunk()),
                None => (true, true),
            };
            roles.opens |= u16::from(opens) << i;
            roles.closes |= u16::from(closes) << i;
        }
        roles
    }

    /// Does a new word start at a unit tagged `tag`?
    pub fn opens(&self, tag: u8) -> bool {
        bit(self.opens, tag)
    }

    /// Does the word end after a unit tagged `tag`?
    pub fn closes(&self, tag: u8) -> bool {
        bit(self.closes, tag)
    }

    /// Is there a word boundary between a unit tagged `before` and the next one tagged `after`?
    pub fn boundary(&self, before: u8, after: u8) -> bool {
        bit(self.closes, before) || bit(self.opens, after)
    }
}

fn bit(mask: u16, tag: u8) -> bool {
    tag < 16 && mask & (1 << tag) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bit(c: &Constraints, from: &str, to: &str, names: &[&str]) -> bool {
        let f = names.iter().position(|n| *n == from).unwrap();
        let t = names.iter().position(|n| *n == to).unwrap();
        c.allows(f, t)
    }

    #[test]
    fn bmes_matches_the_forbidden_list() {
        let names = ["B", "M", "E", "S"];
        let (scheme, c) = derive_constraints(names.iter().copied());
        assert_eq!(scheme, TagScheme::Bmes);
        let forbidden =
            [("S", "M"), ("S", "E"), ("B", "S"), ("B", "B"), ("M", "S"), ("M", "B"), ("E", "M"), ("E", "E")];
        for from in names {
            for to in names {
                assert_eq!(bit(&c, from, to, &names), !forbidden.contains(&(from, to)), "{from}->{to}");
            }
        }
        assert_eq!(c.start, 0b1001); // B, S
        assert_eq!(c.end, 0b1100); // E, S
        assert_eq!(c.primitive_exponent(), Some(2));
    }

    #[test]
    fn typed_bio() {
        let names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
        let (scheme, c) = derive_constraints(names.iter().copied());
        assert_eq!(scheme, TagScheme::Bio);
        assert!(bit(&c, "B-PER", "I-PER", &names));
        assert!(!bit(&c, "B-PER", "I-LOC", &names));
        assert!(!bit(&c, "O", "I-PER", &names));
        assert!(bit(&c, "I-PER", "B-LOC", &names));
        assert!(bit(&c, "I-LOC", "O", &names));
        assert_eq!(c.start, 0b01011);
        assert_eq!(c.end, 0b11111);
        assert!(c.primitive_exponent().is_some());
    }

    #[test]
    fn typed_bioes() {
        let names = ["O", "B-X", "I-X", "E-X", "S-X"];
        let (scheme, c) = derive_constraints(names.iter().copied());
        assert_eq!(scheme, TagScheme::Bioes);
        assert!(!bit(&c, "B-X", "O", &names));
        assert!(bit(&c, "B-X", "E-X", &names));
        assert!(bit(&c, "E-X", "S-X", &names));
        assert!(!bit(&c, "O", "E-X", &names));
        assert_eq!(c.end, 0b11001);
        assert!(c.primitive_exponent().is_some());
    }

    #[test]
    fn iob1_lets_i_start_a_chunk_and_b_only_separate_two() {
        let names = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"];
        let c = iob1_constraints(names.iter().copied()).unwrap();
        assert!(bit(&c, "O", "I-PER", &names));
        assert!(bit(&c, "I-LOC", "I-PER", &names));
        assert!(bit(&c, "I-LOC", "B-LOC", &names));
        assert!(bit(&c, "B-LOC", "B-LOC", &names));
        assert!(!bit(&c, "O", "B-LOC", &names));
        assert!(!bit(&c, "I-PER", "B-LOC", &names));
        assert!(!bit(&c, "B-PER", "B-LOC", &names));
        assert_eq!(c.start, 0b10101); // O, I-LOC, I-PER
        assert_eq!(c.end, 0b11111);
        assert!(c.validate().is_ok());
        assert!(iob1_constraints(["O", "E-X"].into_iter()).is_none());
    }

    #[test]
    fn unknown_names_are_unconstrained() {
        let (scheme, c) = derive_constraints(["NOUN", "VERB"].into_iter());
        assert_eq!(scheme, TagScheme::Unconstrained);
        assert_eq!(c.next[0], 0b11);
        assert_eq!(c.primitive_exponent(), Some(1));
    }

    #[test]
    fn periodic_graph_is_not_primitive() {
        let mut c = Constraints::unconstrained(2);
        c.next = [0; MAX_TAGS];
        c.next[0] = 0b10;
        c.next[1] = 0b01;
        assert_eq!(c.primitive_exponent(), None);
    }
}
