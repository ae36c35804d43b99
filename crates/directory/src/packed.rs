//! A list of small records of optional strings, packed into one allocation.
//!
//! Memory (issue 18): a user's identities (seven optional strings each) and SSH keys (three)
//! were a boxed slice of records, each string its own allocation — about seven allocations
//! and 200 bytes per user at 1M users, most of it pointers and allocator overhead. Packed,
//! they are one string buffer per list: each field is a length header followed by its bytes.
//!
//! Encoding (canonical, so two lists are equal exactly when their buffers are): records one
//! after the other, each `N` fields; a field is a header `h` = 0 for an absent field or the
//! field's byte length + 1, written in 6-bit groups, lowest first, one ASCII byte each (bit
//! 0x40 set on every group but the last), then the field's text. Headers are ASCII, so the
//! buffer is valid UTF-8 and every field starts and ends on a character boundary: it is kept
//! as a `Box<str>`, and fields are read back as `&str` without `unsafe`.
//!
//! Reading a field walks the fields before it; records are short (≤ 7 fields) and readers
//! take every field of a record at once ([`PackedIter`] yields whole records).

/// Records of `N` optional strings each, in one buffer (empty list: no allocation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Packed<const N: usize>(Box<str>);

/// Marks a header group that another group follows.
const MORE: u8 = 0x40;
/// The payload bits of a header group.
const GROUP: usize = 0x3f;

impl<const N: usize> Packed<N> {
    /// Packs `records` in order.
    pub fn new<'a>(records: impl IntoIterator<Item = [Option<&'a str>; N]>) -> Packed<N> {
        // Sized first, so the buffer is allocated once at its final size (a growing `String`
        // reallocated it four or five times per user when loading).
        let records: Vec<[Option<&str>; N]> = records.into_iter().collect();
        let size = records
            .iter()
            .flatten()
            .map(|field| field_size(*field))
            .sum();
        let mut buffer = String::with_capacity(size);
        for record in records {
            for field in record {
                push_field(&mut buffer, field);
            }
        }
        debug_assert_eq!(buffer.len(), size);
        Packed(buffer.into_boxed_str())
    }

    /// The records in order.
    pub fn iter(&self) -> PackedIter<'_, N> {
        PackedIter { rest: &self.0 }
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many records there are (walks the buffer).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The buffer's size in bytes (for [`crate::footprint`]).
    pub fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

/// The bytes one field takes: its header and its text.
fn field_size(field: Option<&str>) -> usize {
    let mut header = field.map_or(0, |text| text.len() + 1);
    let mut size = 1;
    while header > GROUP {
        header >>= 6;
        size += 1;
    }
    size + field.map_or(0, str::len)
}

/// Appends one field: its header, then its text.
fn push_field(buffer: &mut String, field: Option<&str>) {
    let mut header = field.map_or(0, |text| text.len() + 1);
    loop {
        let group = (header & GROUP) as u8;
        header >>= 6;
        if header == 0 {
            buffer.push(char::from(group));
            break;
        }
        buffer.push(char::from(group | MORE));
    }
    if let Some(text) = field {
        buffer.push_str(text);
    }
}

/// Reads one field off the front of `rest`; `None` (outer) when `rest` is exhausted or not a
/// buffer this module wrote.
fn take_field<'a>(rest: &mut &'a str) -> Option<Option<&'a str>> {
    let bytes = rest.as_bytes();
    let mut header = 0usize;
    let mut used = 0;
    loop {
        if used == 10 {
            return None; // more than 60 bits: not a header of this module
        }
        let group = *bytes.get(used)?;
        header |= usize::from(group & GROUP as u8) << (6 * used);
        used += 1;
        if group & MORE == 0 {
            break;
        }
    }
    if header == 0 {
        *rest = rest.get(used..)?;
        return Some(None);
    }
    let end = used + header - 1;
    let text = rest.get(used..end)?;
    *rest = rest.get(end..)?;
    Some(Some(text))
}

/// The records of a [`Packed`] list, each as its `N` fields.
#[derive(Clone)]
pub struct PackedIter<'a, const N: usize> {
    rest: &'a str,
}

impl<'a, const N: usize> Iterator for PackedIter<'a, N> {
    type Item = [Option<&'a str>; N];

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let mut record = [None; N];
        for field in &mut record {
            match take_field(&mut self.rest) {
                Some(value) => *field = value,
                None => {
                    // Not a buffer of this module (cannot happen): stop rather than misread.
                    self.rest = "";
                    return None;
                }
            }
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever goes in comes out, field for field (absent and empty told apart, long fields
    /// with multi-group headers, non-ASCII text), and equal lists have equal buffers.
    #[test]
    fn records_read_back_as_written() {
        let long = "é".repeat(3_000);
        let records: Vec<[Option<&str>; 3]> = vec![
            [Some("core"), None, Some("")],
            [None, None, None],
            [Some(&long), Some("x"), Some("ключ ssh-ed25519 AAAA")],
            [Some(&long[..62]), Some(&long[..64]), Some(&long[..4094])],
        ];
        let packed = Packed::<3>::new(records.iter().copied());
        assert_eq!(packed.iter().collect::<Vec<_>>(), records);
        assert_eq!(packed.len(), 4);
        assert!(!packed.is_empty());
        assert_eq!(packed, Packed::new(records.iter().copied()));
        assert_ne!(packed, Packed::new(records[..3].iter().copied()));

        let empty = Packed::<3>::new([]);
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        assert_eq!(empty, Packed::default());
        assert_eq!(empty.heap_bytes(), 0);
    }

    /// A field's header takes one byte up to 62 bytes of text, two up to 4,094: the packed
    /// size is the text plus those headers, nothing else.
    #[test]
    fn the_buffer_is_the_text_plus_short_headers() {
        let packed = Packed::<2>::new([[Some("google"), None], [Some(&"a".repeat(62)), None]]);
        assert_eq!(packed.heap_bytes(), 6 + 62 + 4);
        let packed = Packed::<1>::new([[Some(&*"a".repeat(63))]]);
        assert_eq!(packed.heap_bytes(), 63 + 2);
    }
}
