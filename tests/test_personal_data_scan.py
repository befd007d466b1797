"""The personal-data scan behind the publication gate, on hand-made files: it finds a respondent's
name, e-mail or phone number in text, in spreadsheets (ZIP archives) and wherever a PNG can carry
text (its text chunks, compressed or not, other non-image chunks, bytes after its end), not in
ordinary words or image data, and refuses a PNG it cannot read."""

import struct
import zipfile
import zlib

from iom_pipeline.personal_data import PNG_SIGNATURE, UNREADABLE, find_in_files

PERSONAL = {"Joanna Smith", "José Núñez", "j.smith@example.org", "01632 960123"}


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(*chunks: bytes, pixels: bytes = b"\x00\x00", after: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE + chunk(b"IHDR", header) + b"".join(chunks)
        + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"") + after
    )


def test_values_in_text_spreadsheets_and_png_metadata_are_found(tmp_path):
    (tmp_path / "report.html").write_text("<p>Contact: Joanna  Smith.</p>", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "tables.xlsx", "w") as archive:
        archive.writestr("xl/sharedStrings.xml", "<si><t>j.smith@example.org</t></si>")
    files = {
        "text.png": png(chunk(b"tEXt", b"Title\x00Called 01632 960123")),
        # tEXt and zTXt are Latin-1 (as Pillow writes a title matplotlib passes it)
        "latin1.png": png(chunk(b"tEXt", "Author\x00José Núñez".encode("latin-1"))),
        "compressed.png": png(chunk(b"zTXt", b"Description\x00\x00" + zlib.compress(b"by Joanna Smith"))),
        "international.png": png(chunk(b"iTXt", b"Author\x00\x01\x00en\x00Author\x00" + zlib.compress("José Núñez".encode()))),
        "plain_international.png": png(chunk(b"iTXt", b"Author\x00\x00\x00\x00\x00j.smith@example.org")),
        "private_chunk.png": png(chunk(b"prVt", b"Joanna Smith")),
        "appended.png": png(after=b"01632 960123"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    assert sorted(find_in_files(tmp_path, PERSONAL)) == [
        ("appended.png", "01632 960123"),
        ("compressed.png", "joanna smith"),
        ("international.png", "josé núñez"),
        ("latin1.png", "josé núñez"),
        ("plain_international.png", "j.smith@example.org"),
        ("private_chunk.png", "joanna smith"),
        ("report.html", "joanna smith"),
        ("tables.xlsx", "j.smith@example.org"),
        ("text.png", "01632 960123"),
    ]


def test_ordinary_words_and_image_data_raise_nothing(tmp_path):
    (tmp_path / "report.html").write_text("<p>Smith Street and Joanna Road.</p>", encoding="utf-8")
    (tmp_path / "figure.png").write_bytes(png(chunk(b"tEXt", b"Title\x00Police and probation")))
    # Bytes that spell a name inside the image data are pixels, not text anyone can read.
    (tmp_path / "pixels.png").write_bytes(
        PNG_SIGNATURE + chunk(b"IDAT", b"Joanna Smith") + chunk(b"IEND", b"")
    )
    assert find_in_files(tmp_path, PERSONAL) == []


def test_a_png_that_cannot_be_read_is_refused_not_passed(tmp_path):
    (tmp_path / "corrupt.png").write_bytes(png(chunk(b"zTXt", b"Description\x00\x00not deflate data")))
    (tmp_path / "truncated.png").write_bytes(png(chunk(b"tEXt", b"Title\x00Police"))[:-20])
    hits = dict(find_in_files(tmp_path, PERSONAL))
    assert sorted(hits) == ["corrupt.png", "truncated.png"]
    assert all(reason.startswith(UNREADABLE) for reason in hits.values())


# -- text as a reader sees it, phone numbers as digits ------------------------------------------
ESCAPED = {"Mary O'Brien", "Smith & Jones", "mary.obrien@example.org", "01632 960002"}


def test_a_value_written_the_way_html_and_xml_escape_it_is_found(tmp_path):
    """The report's template writes an apostrophe as &#39;, a spreadsheet's XML & as &amp;: the
    scan reads the text a reader sees, not the bytes."""
    (tmp_path / "report.html").write_text("<p>By Mary O&#39;Brien.</p>", encoding="utf-8")
    (tmp_path / "named.html").write_text("<p>By MARY O&apos;BRIEN</p>", encoding="utf-8")
    (tmp_path / "hex.html").write_text("<p>mary&#x2E;obrien&#64;example&#46;org</p>", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "tables.xlsx", "w") as archive:
        archive.writestr("xl/sharedStrings.xml", "<si><t>Smith &amp; Jones</t></si>")
    with zipfile.ZipFile(tmp_path / "tables.ods", "w") as archive:
        archive.writestr("content.xml", "<text:p>Smith &amp;  jones</text:p>")
    assert sorted(find_in_files(tmp_path, ESCAPED)) == [
        ("hex.html", "mary.obrien@example.org"),
        ("named.html", "mary o'brien"),
        ("report.html", "mary o'brien"),
        ("tables.ods", "smith jones"),
        ("tables.xlsx", "smith jones"),
    ]


def test_a_phone_number_is_found_whatever_its_spacing_or_prefix(tmp_path):
    variants = {
        "spaced.csv": "area,01632 960 002\r\n",
        "hyphen.html": "<td>01632-960002</td>",
        "country.html": "<td>+44 1632 960002</td>",
        "country_zero.html": "<td>+44 (0)1632 960002</td>",
        "international.html": "<td>0044 1632/960002</td>",
        "bracketed.html": "<td>(01632) 960002</td>",
        "joined.html": "<td>01632960002</td>",
    }
    for name, text in variants.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert sorted(find_in_files(tmp_path, ESCAPED)) == sorted((name, "01632 960002") for name in variants)


def test_digits_that_are_not_a_phone_number_raise_nothing(tmp_path):
    """The same digits inside a decimal, a longer code or a word are not the number."""
    (tmp_path / "numbers.csv").write_text("pct,0.16329600021\r\nref,X0163296000299\r\ncode,E1632960002\r\n",
                                          encoding="utf-8")
    assert find_in_files(tmp_path, ESCAPED) == []


def test_the_finder_reads_any_text(tmp_path):
    from iom_pipeline.personal_data import find_in_text

    assert find_in_text('{"message": "called MARY  O\\u2019Brien"}', ESCAPED) == set()  # another apostrophe: another word
    assert find_in_text("metadata: Mary O'Brien, tel. 01632 960 002", ESCAPED) == {"mary o'brien", "01632 960002"}
