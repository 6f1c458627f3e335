"""``emotive animate portrait.png speech.wav --emotion sad -o talk.mp4``: a talking portrait."""

from __future__ import annotations

import argparse

HELP = (
    "animate a portrait speaking a WAV with an emotion (MP4, H.264 + AAC). Motion: the trained motion "
    "diffusion model when its weights are shipped (--motion auto), otherwise the PROCEDURAL motion "
    "(visemes + FACS expressions + blinks + head motion, the model's training data)"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("animate", help=HELP, description=HELP + ".")
    p.add_argument(
        "portrait", nargs="?", help="portrait image (default: skimage's astronaut photo, public domain)"
    )
    p.add_argument("audio", help="speech file (WAV/FLAC/OGG, at most 5 minutes)")
    p.add_argument("--emotion", "-e", default="neutral", help="label, mixture, 'vad(v,a,d)' or free text")
    p.add_argument(
        "--text", help="the words spoken (better lip timing); otherwise Whisper tiny.en transcribes"
    )
    p.add_argument("-o", "--out", required=True, help="output MP4")
    p.add_argument(
        "--motion-out", help="also write the motion (52 ARKit blendshapes + head pose) as .csv or .json"
    )
    p.add_argument("--size", type=int, choices=(256, 512), default=256, help="frame size in px")
    p.add_argument("--seed", type=int, default=0, help="take (style, blinks, head motion)")
    p.add_argument(
        "--motion",
        choices=("auto", "diffusion", "procedural"),
        default="auto",
        help="motion source (auto: the diffusion model if its weights are shipped, else procedural)",
    )
    p.add_argument("--model", help="motion model folder (default: shipped)")
    p.add_argument("--steps", type=int, default=6, help="diffusion sampling steps (DPM-Solver++)")
    p.add_argument(
        "--guidance", type=float, default=2.0, help="classifier-free guidance scale (emotion strength)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.generators.face.talking import animate

    torch.set_num_threads(1)
    if args.portrait is None:
        import skimage.data

        portrait = skimage.data.astronaut()
    else:
        portrait = args.portrait
    res = animate(
        portrait, args.audio, args.out, emotion=args.emotion, text=args.text, size=args.size, seed=args.seed,
        motion_out=args.motion_out, overwrite=args.force, progress=True, motion=args.motion,
        model_path=args.model, num_steps=args.steps, guidance_scale=args.guidance,
    )  # fmt: skip
    for note in res.notes:
        print(f"note: {note}")
    print(
        f"wrote {res.video} ({len(res.motion)} frames, {res.motion.duration:.1f} s, {args.size} px; "
        f"motion: {res.motion_source}; timing: {res.timing}; render {res.render_fps:.0f} fps)"
    )
    if args.motion_out:
        print(f"wrote {args.motion_out}")
    return 0
