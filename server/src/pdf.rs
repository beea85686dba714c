//! Draws a [`Document`] as an A4 PDF: text selectable, tagged for screen readers (headings and
//! paragraphs in reading order, title and language set), page numbers ("Page 2 of 3").
//!
//! It uses the PDF standard fonts (Helvetica and Helvetica-Bold), which every PDF reader has,
//! so nothing is embedded and the file stays small. Their encoding (WinAnsi) covers English
//! and western European letters; other letters are written without their accent where that
//! is clear (Ł as L) and as "?" otherwise. No I/O: bytes in, bytes out.

use pdf_writer::types::StructRole;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use shared::documents::{Block, Document};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const TOP: f32 = PAGE_H - MARGIN;
const BOTTOM: f32 = 64.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
/// Where a fact's value starts, after its label.
const VALUE_X: f32 = 150.0;
/// Most pages a document may take: far beyond any plan or request, and a bound on the work
/// one request can ask of the relay.
pub const MAX_PAGES: usize = 200;

#[derive(Clone, Copy, PartialEq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        }
    }
}

/// Helvetica's advance widths (thousandths of the font size) for ASCII 32..=126, from the
/// standard fonts' metrics.
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
/// Helvetica-Bold's, likewise.
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// A character in WinAnsi, and the ASCII letter whose width it has.
fn win_ansi(c: char) -> (u8, u8) {
    match c {
        ' '..='~' => (c as u8, c as u8),
        '\u{2018}' => (0x91, b'\''),
        '\u{2019}' => (0x92, b'\''),
        '\u{201C}' => (0x93, b'"'),
        '\u{201D}' => (0x94, b'"'),
        '\u{2022}' => (0x95, b'-'),
        '\u{2013}' => (0x96, b'n'),
        '\u{2014}' => (0x97, b'M'),
        '\u{2026}' => (0x85, b'M'),
        '\u{20AC}' => (0x80, b'0'),
        '\u{A0}'..='\u{FF}' => {
            let base = base_letter(c).unwrap_or(b'o');
            (c as u32 as u8, base)
        }
        _ => match base_letter(c) {
            Some(b) => (b, b),
            None => (b'?', b'?'),
        },
    }
}

/// The plain letter under an accented one, where there is an obvious one.
fn base_letter(c: char) -> Option<u8> {
    let s = match c {
        'À'..='Å' | 'Ā' | 'Ă' | 'Ą' => 'A',
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'Ç' | 'Ć' | 'Č' => 'C',
        'ç' | 'ć' | 'č' => 'c',
        'Ď' | 'Đ' => 'D',
        'ď' | 'đ' => 'd',
        'È'..='Ë' | 'Ē' | 'Ė' | 'Ę' | 'Ě' => 'E',
        'è'..='ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'Ì'..='Ï' | 'Ī' | 'Į' | 'İ' => 'I',
        'ì'..='ï' | 'ī' | 'į' | 'ı' => 'i',
        'Ł' | 'Ľ' => 'L',
        'ł' | 'ľ' => 'l',
        'Ñ' | 'Ń' | 'Ň' => 'N',
        'ñ' | 'ń' | 'ň' => 'n',
        'Ò'..='Ö' | 'Ø' | 'Ō' | 'Ő' => 'O',
        'ò'..='ö' | 'ø' | 'ō' | 'ő' => 'o',
        'Ř' => 'R',
        'ř' => 'r',
        'Ś' | 'Š' | 'Ş' | 'Ș' => 'S',
        'ś' | 'š' | 'ş' | 'ș' => 's',
        'Ť' | 'Ţ' | 'Ț' => 'T',
        'ť' | 'ţ' | 'ț' => 't',
        'Ù'..='Ü' | 'Ū' | 'Ů' | 'Ű' | 'Ų' => 'U',
        'ù'..='ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'Ý' | 'Ÿ' => 'Y',
        'ý' | 'ÿ' => 'y',
        'Ź' | 'Ż' | 'Ž' => 'Z',
        'ź' | 'ż' | 'ž' => 'z',
        _ => return None,
    };
    Some(s as u8)
}

fn encode(text: &str) -> Vec<u8> {
    text.chars().map(|c| win_ansi(c).0).collect()
}

fn width(text: &str, font: Font, size: f32) -> f32 {
    text.chars().map(|c| char_width(c, font, size)).sum()
}

fn char_width(c: char, font: Font, size: f32) -> f32 {
    let table = match font {
        Font::Regular => &REGULAR,
        Font::Bold => &BOLD,
    };
    let (_, like) = win_ansi(c);
    f32::from(table[usize::from(like.clamp(32, 126) - 32)]) * size / 1000.0
}

/// Splits text into lines no wider than `max`, keeping the author's line breaks; a word wider
/// than a line is cut where it must be. One pass over the text, whatever it holds.
fn wrap(text: &str, font: Font, size: f32, max: f32) -> Vec<String> {
    let space = char_width(' ', font, size);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let (mut line, mut line_w) = (String::new(), 0.0);
        for word in para.split_whitespace() {
            let word_w = width(word, font, size);
            let needed = if line.is_empty() {
                word_w
            } else {
                line_w + space + word_w
            };
            if needed <= max {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
                line_w = needed;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line_w = 0.0;
            for c in word.chars() {
                let w = char_width(c, font, size);
                if line_w + w > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// One line of text placed on a page, and the element of the document's structure it is
/// part of (`None` for decoration: bullets, the footer).
struct Placed {
    x: f32,
    y: f32,
    font: Font,
    size: f32,
    text: String,
    element: Option<usize>,
}

/// Lays text out top to bottom, starting a new page when one is full, and notes the
/// structure (headings, paragraphs) for screen readers.
struct Layout {
    pages: Vec<Vec<Placed>>,
    y: f32,
    elements: Vec<StructRole>,
    /// Past [`MAX_PAGES`]: nothing more is placed.
    full: bool,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: TOP,
            elements: Vec::new(),
            full: false,
        }
    }

    fn element(&mut self, role: StructRole) -> usize {
        self.elements.push(role);
        self.elements.len() - 1
    }

    /// Room for `height` more points on this page, or a new page.
    fn room(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            if self.pages.len() >= MAX_PAGES {
                self.full = true;
            } else {
                self.pages.push(Vec::new());
            }
            self.y = TOP;
        }
    }

    fn gap(&mut self, points: f32) {
        if self.y < TOP {
            self.y -= points;
        }
    }

    fn place(&mut self, placed: Placed) {
        if !self.full {
            self.pages.last_mut().expect("a page").push(placed);
        }
    }

    /// Wrapped text as one element of the structure.
    fn text(&mut self, role: StructRole, x: f32, font: Font, size: f32, text: &str) {
        let element = Some(self.element(role));
        for line in wrap(text, font, size, MARGIN + WIDTH - x) {
            let lead = size * 1.35;
            self.room(lead);
            self.y -= lead;
            let y = self.y;
            self.place(Placed {
                x,
                y,
                font,
                size,
                text: line,
                element,
            });
        }
    }

    /// A label and its value side by side, as one paragraph; the value wraps in its own column.
    fn fact(&mut self, x: f32, label: &str, value: &str) {
        let size = 11.0;
        let element = Some(self.element(StructRole::P));
        let labels = wrap(label, Font::Bold, size, MARGIN + VALUE_X - x - 8.0);
        let values = wrap(
            value,
            Font::Regular,
            size,
            MARGIN + WIDTH - (MARGIN + VALUE_X),
        );
        let rows = labels.len().max(values.len());
        // Keep a short fact on one page.
        if rows <= 4 {
            self.room(rows as f32 * size * 1.35);
        }
        for i in 0..rows {
            let lead = size * 1.35;
            self.room(lead);
            self.y -= lead;
            let y = self.y;
            if let Some(l) = labels.get(i) {
                self.place(Placed {
                    x,
                    y,
                    font: Font::Bold,
                    size,
                    text: l.clone(),
                    element,
                });
            }
            if let Some(v) = values.get(i) {
                self.place(Placed {
                    x: MARGIN + VALUE_X,
                    y,
                    font: Font::Regular,
                    size,
                    text: v.clone(),
                    element,
                });
            }
        }
    }
}

fn lay_out(doc: &Document) -> Layout {
    let mut l = Layout::new();
    l.text(StructRole::H1, MARGIN, Font::Bold, 22.0, &doc.title);
    if !doc.subtitle.is_empty() {
        l.gap(4.0);
        l.text(StructRole::P, MARGIN, Font::Regular, 12.0, &doc.subtitle);
    }
    for section in &doc.sections {
        l.gap(14.0);
        // A heading is never the last thing on a page, nor alone with one line.
        l.room(90.0);
        l.text(StructRole::H2, MARGIN, Font::Bold, 15.0, &section.heading);
        l.gap(2.0);
        for block in &section.blocks {
            l.gap(4.0);
            match block {
                Block::Paragraph { text } => {
                    l.text(StructRole::P, MARGIN, Font::Regular, 11.0, text)
                }
                Block::Subheading { text } => {
                    l.gap(4.0);
                    l.room(50.0);
                    l.text(StructRole::H3, MARGIN, Font::Bold, 12.5, text);
                }
                Block::Bullets { items } => {
                    for item in items {
                        let from = l.pages.len() - 1;
                        l.text(StructRole::P, MARGIN + 14.0, Font::Regular, 11.0, item);
                        // The bullet goes beside the item's first line, on whichever page
                        // that is.
                        let element = Some(l.elements.len() - 1);
                        let first = (from..l.pages.len()).find_map(|n| {
                            l.pages[n]
                                .iter()
                                .find(|p| p.element == element)
                                .map(|p| (n, p.y))
                        });
                        if let (Some((n, y)), false) = (first, l.full) {
                            l.pages[n].push(Placed {
                                x: MARGIN + 2.0,
                                y,
                                font: Font::Regular,
                                size: 11.0,
                                text: "\u{2022}".into(),
                                element: None,
                            });
                        }
                    }
                }
                Block::Item { heading, facts } => {
                    if !heading.is_empty() {
                        // The heading and its first facts stay together.
                        l.room(18.0 + 15.0 * facts.len().min(4) as f32);
                        l.text(StructRole::H4, MARGIN, Font::Bold, 11.5, heading);
                    }
                    for f in facts {
                        l.fact(MARGIN + 12.0, &f.label, &f.value);
                    }
                }
            }
        }
    }
    l
}

/// Hands out object numbers.
struct Refs(i32);

impl Refs {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

/// A document longer than [`MAX_PAGES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

/// The PDF file for `doc`: tagged (a structure of headings and paragraphs, in reading order,
/// with the footer and bullets marked as decoration), so screen readers can follow it.
pub fn render(doc: &Document) -> Result<Vec<u8>, TooLong> {
    let layout = lay_out(doc);
    if layout.full {
        return Err(TooLong);
    }
    let pages = &layout.pages;
    let mut refs = Refs(0);
    let catalog = refs.next();
    let tree = refs.next();
    let info = refs.next();
    let regular = refs.next();
    let bold = refs.next();
    let struct_root = refs.next();
    let document = refs.next();
    let page_ids: Vec<(Ref, Ref, Ref)> = pages
        .iter()
        .map(|_| (refs.next(), refs.next(), refs.next()))
        .collect();
    let element_ids: Vec<Ref> = layout.elements.iter().map(|_| refs.next()).collect();

    let mut pdf = Pdf::new();
    {
        let mut cat = pdf.catalog(catalog);
        cat.pages(tree);
        cat.lang(TextStr("en-GB"));
        cat.viewer_preferences().display_doc_title(true);
        cat.mark_info().marked(true);
        cat.pair(Name(b"StructTreeRoot"), struct_root);
    }
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(p, _, _)| *p))
        .count(pages.len() as i32);
    pdf.document_info(info)
        .title(TextStr(&doc.title))
        .creator(TextStr("TAC Planner"));
    for (id, base) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }

    // Where each element's pieces are: (page, marked-content id) in reading order.
    let mut parts: Vec<Vec<(usize, i32)>> = vec![Vec::new(); layout.elements.len()];
    let total = pages.len();
    for (n, placed) in pages.iter().enumerate() {
        let (page_id, content_id, parents_id) = page_ids[n];
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        page.struct_parents(n as i32);
        page.tab_order(pdf_writer::types::TabOrder::StructureOrder);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Font::Regular.name(), regular);
        fonts.pair(Font::Bold.name(), bold);
        fonts.finish();
        resources.finish();
        page.finish();

        let mut content = Content::new();
        // The element each marked-content id on this page belongs to.
        let mut owners: Vec<Ref> = Vec::new();
        for p in placed {
            match p.element {
                Some(e) => {
                    let mcid = owners.len() as i32;
                    owners.push(element_ids[e]);
                    parts[e].push((n, mcid));
                    content
                        .begin_marked_content_with_properties(tag(layout.elements[e]))
                        .properties()
                        .identify(mcid);
                }
                None => {
                    content.begin_marked_content(Name(b"Artifact"));
                }
            }
            content.begin_text();
            content.set_font(p.font.name(), p.size);
            content.next_line(p.x, p.y);
            content.show(Str(&encode(&p.text)));
            content.end_text();
            content.end_marked_content();
        }
        // Footer: the document's title, and where this page is; decoration for screen readers.
        let footer = format!("Page {} of {total}", n + 1);
        let title: String = if doc.title.chars().count() > 60 {
            doc.title.chars().take(59).chain(['\u{2026}']).collect()
        } else {
            doc.title.clone()
        };
        content.begin_marked_content(Name(b"Artifact"));
        content.set_fill_gray(0.3);
        for (x, text) in [
            (MARGIN, title.as_str()),
            (
                PAGE_W - MARGIN - width(&footer, Font::Regular, 9.0),
                footer.as_str(),
            ),
        ] {
            content.begin_text();
            content.set_font(Font::Regular.name(), 9.0);
            content.next_line(x, 32.0);
            content.show(Str(&encode(text)));
            content.end_text();
        }
        content.end_marked_content();
        pdf.stream(content_id, &content.finish());
        pdf.indirect(parents_id).array().items(owners);
    }

    // The structure: the document, then its headings and paragraphs in reading order.
    {
        let mut root = pdf
            .indirect(struct_root)
            .start::<pdf_writer::writers::StructTreeRoot>();
        root.child(document);
        let mut tree = root.parent_tree();
        let mut nums = tree.nums();
        for (n, (_, _, parents_id)) in page_ids.iter().enumerate() {
            nums.insert(n as i32, *parents_id);
        }
        nums.finish();
        tree.finish();
        root.parent_tree_next_key(pages.len() as i32);
    }
    {
        let mut d = pdf.struct_element(document);
        d.kind(StructRole::Document);
        d.parent(struct_root);
        d.lang(TextStr("en-GB"));
        let mut children = d.children();
        for id in &element_ids {
            children.struct_element(*id);
        }
    }
    for (e, role) in layout.elements.iter().enumerate() {
        let mut el = pdf.struct_element(element_ids[e]);
        el.kind(*role);
        el.parent(document);
        if let Some((page, _)) = parts[e].first() {
            el.page(page_ids[*page].0);
        }
        let mut children = el.children();
        for (page, mcid) in &parts[e] {
            children
                .marked_content_ref()
                .page(page_ids[*page].0)
                .marked_content_id(*mcid);
        }
    }
    Ok(pdf.finish())
}

/// The marked-content tag for an element.
fn tag(role: StructRole) -> Name<'static> {
    match role {
        StructRole::H1 => Name(b"H1"),
        StructRole::H2 => Name(b"H2"),
        StructRole::H3 => Name(b"H3"),
        StructRole::H4 => Name(b"H4"),
        _ => Name(b"P"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_within_the_line_and_keeps_every_word() {
        let text = "Sam's attendance has gone up since the breakfast club started, and his \
                    teacher says he is more settled in the mornings. "
            .repeat(4);
        let lines = wrap(&text, Font::Regular, 11.0, 300.0);
        assert!(lines.len() > 4);
        assert!(lines.iter().all(|l| width(l, Font::Regular, 11.0) <= 300.0));
        assert_eq!(
            lines.join(" ").split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        let long = "x".repeat(400);
        assert!(wrap(&long, Font::Regular, 11.0, 100.0).len() > 3);
    }

    #[test]
    fn what_a_client_can_send_is_bounded() {
        let doc = |title: String, text: String| Document {
            title,
            subtitle: String::new(),
            sections: vec![shared::documents::Section {
                heading: "Everything".into(),
                blocks: vec![Block::Paragraph { text }],
            }],
        };
        // A quarter of a million line breaks: refused, not 5,000 pages.
        let started = std::time::Instant::now();
        assert_eq!(
            render(&doc("x".repeat(250_000), "\n".repeat(250_000))),
            Err(TooLong)
        );
        // Half a megabyte in one word: cut into lines in one pass, then refused for length.
        assert_eq!(render(&doc("W".into(), "W".repeat(500_000))), Err(TooLong));
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        // A long title is cut short in every page's footer, not repeated in full.
        let pdf = render(&doc("T".repeat(100_000), "Short.".into())).unwrap();
        // (In full in every footer, this one would be near 3 MB.)
        assert!(pdf.len() < 1_000_000, "{} bytes", pdf.len());
    }

    #[test]
    fn letters_outside_the_standard_fonts_lose_their_accent_not_the_letter() {
        assert_eq!(encode("Łukasz Żółć"), b"Lukasz Z\xf3lc".to_vec());
        assert_eq!(encode("Zoë’s"), b"Zo\xeb\x92s".to_vec());
        assert_eq!(encode("王"), b"?".to_vec());
    }
}
