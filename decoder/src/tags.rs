//! Tag schemes and the hard constraints they imply: which tag may follow which, which may start and which
//! may end a sequence. Derived automatically from tag names (BMES, BIO, BIOES, typed or not), or given
//! explicitly in the model.

use crate::error::ModelError;
use crate::limits::{MAX_CHAR_TAGS, MAX_TAGS};

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

/// A tag set as a bitmask (bit `j` = tag `j`): `u16` for up to 16 tags, `u32` for up to 32 (see
/// [`crate::MAX_TAGS`]). The lattice and the constraints are generic over it, so a 16-tag lattice keeps
/// its `u16` code whatever else is compiled in.
pub trait TagMask:
    Copy
    + Eq
    + core::fmt::Debug
    + core::ops::BitAnd<Output = Self>
    + core::ops::BitOr<Output = Self>
    + core::ops::Not<Output = Self>
    + core::ops::Sub<Output = Self>
    + core::ops::BitAndAssign
    + core::ops::BitOrAssign
    + 'static
{
    /// Number of bits.
    const BITS: usize;
    /// No tag.
    const NONE: Self;
    /// Tag 0.
    const ONE: Self;
    /// The tag `tag` (`tag < BITS`).
    fn bit(tag: usize) -> Self;
    /// Index of the lowest set bit (`BITS` for no bit).
    fn lowest(self) -> u32;
    /// The mask widened to 64 bits.
    fn to_u64(self) -> u64;
    /// The low `BITS` bits of `bits`.
    fn from_u64(bits: u64) -> Self;
}

macro_rules! tag_mask {
    ($t:ty) => {
        impl TagMask for $t {
            const BITS: usize = <$t>::BITS as usize;
            const NONE: Self = 0;
            const ONE: Self = 1;
            #[inline(always)]
            fn bit(tag: usize) -> Self {
                1 << tag
            }
            #[inline(always)]
            fn lowest(self) -> u32 {
                self.trailing_zeros()
            }
            #[inline(always)]
            fn to_u64(self) -> u64 {
                u64::from(self)
            }
            #[inline(always)]
            fn from_u64(bits: u64) -> Self {
                bits as $t
            }
        }
    };
}
tag_mask!(u16);
tag_mask!(u32);

/// The tag mask of a model of this build: `u16`, or `u32` with `wide-tags`.
#[cfg(not(feature = "wide-tags"))]
pub type ModelMask = u16;
/// The tag mask of a model of this build: `u16`, or `u32` with `wide-tags`.
#[cfg(feature = "wide-tags")]
pub type ModelMask = u32;
/// Constraints wide enough for any model of this build ([`MAX_TAGS`] tags).
pub type ModelConstraints = Constraints<ModelMask, MAX_TAGS>;

/// Hard constraints as bitmasks over tags (bit `j` = tag `j`), for up to `N` tags in masks `M` (`N` is at
/// most `M`'s bits). The default, `Constraints<u16, 16>`, is the character models' and the firmware's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Constraints<M: TagMask = u16, const N: usize = MAX_CHAR_TAGS> {
    /// `next[i]`: the tags allowed to follow tag `i`.
    pub next: [M; N],
    /// Tags allowed at the first position.
    pub start: M,
    /// Tags allowed at the last position.
    pub end: M,
    /// Number of tags `L`; bits at and above `L` are always clear.
    pub num_tags: usize,
}

impl Constraints {
    /// Everything allowed among `num_tags` tags (`num_tags <= 16`; see [`Constraints::allow_all`] for
    /// other widths).
    pub const fn unconstrained(num_tags: usize) -> Self {
        let all = all_tags(num_tags);
        let mut next = [0u16; MAX_CHAR_TAGS];
        let mut i = 0;
        while i < num_tags && i < MAX_CHAR_TAGS {
            next[i] = all;
            i += 1;
        }
        Self { next, start: all, end: all, num_tags }
    }
}

impl<M: TagMask, const N: usize> Constraints<M, N> {
    const FITS: () = assert!(N <= M::BITS && N.is_power_of_two(), "N tags must fit the mask");

    /// Everything allowed among `num_tags` tags (`num_tags <= N`), in any width.
    pub fn allow_all(num_tags: usize) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::FITS;
        let all = all_tags_in::<M>(num_tags);
        let mut next = [M::NONE; N];
        let mut i = 0;
        while i < num_tags && i < N {
            next[i] = all;
            i += 1;
        }
        Self { next, start: all, end: all, num_tags }
    }

    /// No tag allowed anywhere (to be filled in), for `num_tags` tags.
    fn empty(num_tags: usize) -> Self {
        Self { next: [M::NONE; N], start: M::NONE, end: M::NONE, num_tags }
    }

    /// May tag `to` follow tag `from`?
    #[inline]
    pub fn allows(&self, from: usize, to: usize) -> bool {
        from < N && to < N && self.next[from] & M::bit(to) != M::NONE
    }

    /// May a sequence start with `tag`?
    #[inline]
    pub fn allows_start(&self, tag: usize) -> bool {
        tag < N && self.start & M::bit(tag) != M::NONE
    }

    /// May a sequence end with `tag`?
    #[inline]
    pub fn allows_end(&self, tag: usize) -> bool {
        tag < N && self.end & M::bit(tag) != M::NONE
    }

    /// Is a whole tag sequence allowed (start, every transition, end)? Empty sequences are allowed.
    pub fn allows_sequence(&self, tags: &[u8]) -> bool {
        let (Some(&first), Some(&last)) = (tags.first(), tags.last()) else { return true };
        self.allows_start(usize::from(first))
            && self.allows_end(usize::from(last))
            && tags.windows(2).all(|w| self.allows(usize::from(w[0]), usize::from(w[1])))
    }

    /// The same constraints in another width, if they fit it (`num_tags <= N2`).
    pub fn to_width<M2: TagMask, const N2: usize>(&self) -> Option<Constraints<M2, N2>> {
        if self.num_tags > N2 || self.num_tags > N {
            return None;
        }
        let mut c = Constraints::<M2, N2>::empty(self.num_tags);
        for (to, from) in c.next.iter_mut().zip(&self.next) {
            *to = M2::from_u64(from.to_u64());
        }
        c.start = M2::from_u64(self.start.to_u64());
        c.end = M2::from_u64(self.end.to_u64());
        Some(c)
    }

    /// Checks everything the decoder relies on and returns the primitivity exponent `k`:
    ///
    /// - `num_tags` is in `1..=N` ([`ModelError::BadTagCount`]) and no bit at or above `num_tags` is
    ///   set ([`ModelError::BadConstraint`]);
    /// - some tag may start, some may end, and every sequence length `T >= 1` has at least one allowed tag
    ///   sequence ([`ModelError::UnusableConstraints`]); the lengths `1..=(L-1)^2+2` are checked, which
    ///   together with primitivity covers every length;
    /// - the allowed-transition graph is primitive ([`ModelError::TransitionGraphNotPrimitive`]).
    #[inline(never)]
    pub fn validate(&self) -> Result<usize, ModelError> {
        let l = self.num_tags;
        if l == 0 || l > N {
            return Err(ModelError::BadTagCount { count: l });
        }
        let all = all_tags_in::<M>(l);
        if self.start & !all != M::NONE
            || self.end & !all != M::NONE
            || self.next.iter().enumerate().any(|(i, &n)| n & !all != M::NONE || (i >= l && n != M::NONE))
        {
            return Err(ModelError::BadConstraint);
        }
        if self.start == M::NONE || self.end == M::NONE {
            return Err(ModelError::UnusableConstraints);
        }
        // reach: the tags that end some allowed sequence of length `len`.
        let mut reach = self.start;
        for _len in 1..=(l - 1) * (l - 1) + 2 {
            if reach & self.end == M::NONE {
                return Err(ModelError::UnusableConstraints);
            }
            reach = self.successors(reach);
        }
        self.primitive_exponent().ok_or(ModelError::TransitionGraphNotPrimitive)
    }

    /// The tags that may follow some tag of `tags`.
    #[inline]
    pub fn successors(&self, tags: M) -> M {
        let mut out = M::NONE;
        let mut rest = tags;
        while rest != M::NONE {
            out |= self.next[(rest.lowest() as usize) & (N - 1)];
            rest &= rest - M::ONE;
        }
        out
    }

    /// The tags `t` from which, for every remaining length `r >= 1`, some allowed path of exactly `r`
    /// transitions ends on an allowed end tag. A streaming decoder that must force a cut picks its state
    /// among these so the rest of the sequence can still end legally. For the BMES, BIO and BIOES schemes
    /// every tag qualifies. `k` is the primitivity exponent (paths of `k` or more steps reach every tag).
    pub fn completable(&self, k: usize) -> M {
        let mut out = M::NONE;
        for tag in 0..self.num_tags.min(N) {
            let mut reach = M::bit(tag);
            let mut ok = true;
            for _ in 0..k.max(1) {
                reach = self.successors(reach);
                if reach & self.end == M::NONE {
                    ok = false;
                    break;
                }
            }
            if ok {
                out |= M::bit(tag);
            }
        }
        out
    }

    /// The primitivity exponent of the allowed-transition graph: the least `k` such that every tag can
    /// reach every tag in exactly `k` steps, or `None` if there is none (graph not strongly connected or
    /// periodic). Wielandt's bound `(L-1)^2 + 1` limits the search.
    pub fn primitive_exponent(&self) -> Option<usize> {
        let l = self.num_tags;
        if l == 0 || l > N {
            return None;
        }
        let all = all_tags_in::<M>(l);
        let mut reach = self.next; // reach[i]: tags reachable from i in exactly k steps
        for k in 1..=(l - 1) * (l - 1) + 1 {
            if reach[..l].iter().all(|&r| r == all) {
                return Some(k);
            }
            let mut step = [M::NONE; N];
            for (i, s) in step[..l].iter_mut().enumerate() {
                for j in 0..l {
                    if reach[i] & M::bit(j) != M::NONE {
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

/// The bitmask of tags `0..num_tags` in masks `M` (all bits for `num_tags >= M::BITS`).
#[inline]
pub fn all_tags_in<M: TagMask>(num_tags: usize) -> M {
    if num_tags >= M::BITS {
        !M::NONE
    } else {
        M::bit(num_tags) - M::ONE
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

/// Recognises the scheme of `names` and derives its constraints. Names must number `1..=16` (see
/// [`derive_constraints_in`] for wider tag sets).
pub fn derive_constraints<'a>(names: impl Iterator<Item = &'a str> + Clone) -> (TagScheme, Constraints) {
    derive_constraints_in(names)
}

/// [`derive_constraints`] into constraints of width `N` (names past the `N`-th are ignored).
pub fn derive_constraints_in<'a, M: TagMask, const N: usize>(
    names: impl Iterator<Item = &'a str> + Clone,
) -> (TagScheme, Constraints<M, N>) {
    let num_tags = names.clone().count().min(N);
    let mut parsed = [(Role::Outside, ""); N];
    for (slot, name) in parsed.iter_mut().zip(names) {
        match parse_tag(name) {
            Some(p) => *slot = p,
            None => return (TagScheme::Unconstrained, Constraints::allow_all(num_tags)),
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
    let mut c = Constraints::empty(num_tags);
    for (i, &(role_i, kind_i)) in parsed.iter().enumerate() {
        let open = matches!(role_i, Role::Begin | Role::Inside);
        if matches!(role_i, Role::Begin | Role::Single | Role::Outside) {
            c.start |= M::bit(i);
        }
        if !open || chunk_may_end_anywhere {
            c.end |= M::bit(i);
        }
        for (j, &(role_j, kind_j)) in parsed.iter().enumerate() {
            let continues = matches!(role_j, Role::Inside | Role::End) && kind_j == kind_i;
            let starts_new = matches!(role_j, Role::Begin | Role::Single | Role::Outside);
            let allowed = if open { continues || (chunk_may_end_anywhere && starts_new) } else { starts_new };
            if allowed {
                c.next[i] |= M::bit(j);
            }
        }
    }
    (scheme, c)
}

/// The hard constraints of IOB1 chunks (CoNLL-2003): tags `O`, `I-X` and `B-X`, where `I-X` may start a
/// chunk (after anything) and `B-X` appears only right after a chunk of the same type `X`, to separate
/// two adjacent chunks. So a sequence starts with `O` or an `I` tag, `B-X` follows only `I-X` or `B-X`,
/// and every tag may end. IOB1 uses IOB2's names, so a model stores these as custom constraints. Names
/// that are not `O`, `B-X` or `I-X` (or more than 16) give `None` (see [`iob1_constraints_in`]).
pub fn iob1_constraints<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Option<Constraints> {
    iob1_constraints_in(names)
}

/// [`iob1_constraints`] in constraints of width `N` (`None` for more than `N` names).
pub fn iob1_constraints_in<'a, M: TagMask, const N: usize>(
    names: impl Iterator<Item = &'a str> + Clone,
) -> Option<Constraints<M, N>> {
    let num_tags = names.clone().count();
    if num_tags == 0 || num_tags > N {
        return None;
    }
    let mut parsed = [(Role::Outside, ""); N];
    for (slot, name) in parsed.iter_mut().zip(names) {
        *slot = parse_tag(name).filter(|(r, _)| matches!(r, Role::Begin | Role::Inside | Role::Outside))?;
    }
    let parsed = &parsed[..num_tags];
    let mut c = Constraints::empty(num_tags);
    c.end = all_tags_in(num_tags);
    for (j, &(role_j, kind_j)) in parsed.iter().enumerate() {
        if role_j != Role::Begin {
            c.start |= M::bit(j);
        }
        for (i, &(role_i, kind_i)) in parsed.iter().enumerate() {
            let allowed = match role_j {
                Role::Begin => role_i != Role::Outside && kind_i == kind_j,
                _ => true,
            };
            if allowed {
                c.next[i] |= M::bit(j);
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
    /// The roles of tags named `names` (tag `i` is the `i`-th name; names past the 16th are ignored: the
    /// roles serve the character models' labelers).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut roles = Self { opens: 0, closes: 0 };
        for (i, name) in names.into_iter().enumerate().take(MAX_CHAR_TAGS) {
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
        c.next = [0; MAX_CHAR_TAGS];
        c.next[0] = 0b10;
        c.next[1] = 0b01;
        assert_eq!(c.primitive_exponent(), None);
    }
}
