"""Mail as a ticket sees it: text from plain, HTML-only and non-UTF-8 mail, identity from the
Message-ID, attachments counted, automatic mail recognised."""

from __future__ import annotations

from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from review_ui.inbox.html_text import html_to_text
from review_ui.inbox.mail import MAX_BODY, external_id, read_mail


def _mail(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Dana Reyes <Dana@Example.com>"
    message["To"] = "acme@inbox.example"
    message["Subject"] = "Card declined"
    message["Message-ID"] = "<abc.123@mail.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def test_a_plain_mail_gives_its_subject_text_sender_and_message_id():
    message = _mail()
    message.set_content("My card was declined twice today.\n")
    mail = read_mail(message.as_bytes())
    assert (mail.external_id, mail.sender, mail.sender_name) == (
        "abc.123@mail.example",
        "dana@example.com",
        "Dana Reyes",
    )
    assert mail.subject == "Card declined"
    assert mail.body == "My card was declined twice today."
    assert (mail.attachments, mail.html_only, mail.automatic) == (0, False, False)


def test_html_only_mail_becomes_its_visible_text():
    message = _mail()
    message.set_content(
        "<html><head><style>p{color:red}</style><title>x</title></head><body>"
        "<p>My card &amp; PIN</p><script>alert(1)</script><ul><li>one</li><li>two</li></ul>"
        "</body></html>",
        subtype="html",
    )
    mail = read_mail(message.as_bytes())
    assert mail.html_only
    assert mail.body == "My card & PIN\n\none\n\ntwo"


def test_a_latin_1_mail_and_its_encoded_subject_are_decoded():
    raw = (
        "From: =?iso-8859-1?q?Jos=E9?= <jose@example.com>\r\n"
        "Subject: =?iso-8859-1?q?Carte_bloqu=E9e?=\r\n"
        "Message-ID: <l1@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + "Ma carte est bloquée à l'étranger.\r\n".encode("iso-8859-1")
    mail = read_mail(raw)
    assert mail.subject == "Carte bloquée"
    assert mail.sender_name == "José"
    assert mail.body == "Ma carte est bloquée à l'étranger."


def test_an_unknown_charset_or_raw_8bit_header_still_reads():
    raw = (
        b"From: a@example.com\r\nSubject: Caf\xe9 card\r\nMessage-ID: <u@x>\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nPay \xe2\x82\xac5\r\n"
    )
    mail = read_mail(raw)
    assert mail.subject == "Café card"  # Windows-1252 where it is not UTF-8
    assert mail.body == "Pay €5"


def test_attachments_are_counted_not_read():
    message = _mail()
    message.set_content("See attached.")
    message.add_attachment(
        b"%PDF-1.4 secret", maintype="application", subtype="pdf", filename="a.pdf"
    )
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="b.png")
    mail = read_mail(message.as_bytes())
    assert mail.attachments == 2
    assert mail.body == "See attached."


def test_auto_replies_and_list_mail_are_automatic():
    for headers in ({"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"List_Id": "x"}):
        message = _mail(**headers)
        message.set_content("Out of office")
        assert read_mail(message.as_bytes()).automatic, headers
    message = _mail(Auto_Submitted="no")
    message.set_content("hello")
    assert not read_mail(message.as_bytes()).automatic


def test_a_long_body_is_cut_at_the_api_cap_and_marked():
    message = _mail()
    message.set_content("x" * (MAX_BODY + 10))
    mail = read_mail(message.as_bytes())
    assert len(mail.body) == MAX_BODY and mail.truncated


def test_external_id_without_or_with_a_huge_message_id_is_a_stable_digest():
    assert external_id("", b"raw") == external_id(" ", b"raw")
    assert external_id("", b"raw") != external_id("", b"other")
    long = external_id("<" + "a" * 300 + "@x>", b"")
    assert long.startswith("sha256:") and len(long) <= 200


def test_html_text_keeps_paragraphs_and_drops_hidden_parts():
    html = "<div>Hello&nbsp;there</div><br><table><tr><td>a</td><td>b</td></tr></table>"
    assert html_to_text(html) == "Hello there\n\na b"


@settings(max_examples=500, deadline=None, derandomize=True)  # the same cases every run
@given(
    st.lists(
        st.sampled_from(
            [
                b"From: a@b\r\n",
                b"Subject: =?x-bad?q?=FF?=\r\n",
                b"Content-Type: multipart/alternative; boundary=XX\r\n",
                b"Content-Type: text/html; charset=utf-99\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"Message-ID: <>\r\n",
                b"\r\n",
                b"--XX\r\n",
                b"--XX--\r\n",
                b"<p>hi</p>\r\n",
                b"\xff\xfe\x00garbage\r\n",
                b"=E9=\r\n",
                b"Content-Disposition: attachment; filename*=x''%FF\r\n",
                b'Content-Type: text/plain; charset="\r\n',
                b"From: <>, =?utf-8?b?AA==?= <@>\r\n",
                b"Return-Path: <>\r\n",
                b"Auto-Submitted: \xff\r\n",
            ]
        ),
        max_size=20,
    ),
    st.binary(max_size=200),
)
def test_any_message_reads_without_raising(lines: list[bytes], tail: bytes) -> None:
    """Whatever arrives, reading it gives a mail (possibly empty): a sender never sees a 5xx
    for a crash, and no NUL reaches Postgres."""
    mail = read_mail(b"".join(lines) + tail)
    assert "\x00" not in mail.subject + mail.body + mail.sender
