"""``emotive train face``: reproduce the shipped motion diffusion model from the speech corpus."""

from __future__ import annotations

import argparse


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser(
        "face",
        help="train the face motion diffusion model on the speech corpus (procedural motion targets)",
        description=(
            "Builds training data from a speech-corpus manifest (audio features + emotion + procedural motion "
            "takes from the phone timings), trains the motion denoiser (resumable checkpoints in --work-dir), "
            "evaluates it on held-out rows and, with --export, writes a shippable folder with its MODEL_CARD.md."
        ),
    )
    p.add_argument("--manifest", required=True, help="speech corpus manifest.jsonl (or its folder)")
    p.add_argument("--work-dir", required=True, help="data and checkpoints (outside the repository)")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--takes", type=int, default=4, help="procedural motion takes per utterance")
    p.add_argument(
        "--holdout-voice",
        action="append",
        default=[],
        metavar="SPEAKER",
        help="keep this corpus voice out of training (all its rows join the held-out split; repeatable). "
        "Corpus v2 splits by sentence only, so without it every held-out voice was also heard in training",
    )
    p.add_argument("--export", help="write the trained model here (e.g. generators/face/pretrained/motion)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    from emotive.generators.face.dataset import build_dataset, hold_out_speakers, read_rows
    from emotive.generators.face.pipeline import MotionDiffusionPipeline
    from emotive.generators.face.train import TrainConfig, evaluate_model, export_pretrained, train

    torch.set_num_threads(1)
    work = Path(args.work_dir)
    rows = hold_out_speakers(read_rows(args.manifest), args.holdout_voice)
    data = work / "data.npz"
    if not data.exists():
        print(build_dataset(rows, data, takes=args.takes))
    cfg = TrainConfig(steps=args.steps)
    last = train(data, work / "train", cfg, log=lambda s: print(s, flush=True))
    held = [r for r in rows if r.get("split", "train") != "train"]
    metrics = evaluate_model(MotionDiffusionPipeline.from_pretrained(last / "model"), held or rows)
    print(json.dumps(metrics, indent=1))
    if args.export:
        info = json.loads((last / "train_info.json").read_text())
        card = model_card(args, info, metrics, len(rows))
        print(f"exported to {export_pretrained(last, args.export, card, cfg.window)}")
    return 0


def model_card(args: argparse.Namespace, info: dict, metrics: dict, rows: int) -> str:
    import json

    return f"""# Face motion diffusion model (emotive)

Speech audio + emotion -> 52 ARKit blendshapes + head pose at 25 fps.

- Architecture: transformer denoiser (x0-prediction, adaLN conditioning), {info["config"]["layers"]} layers,
  width {info["config"]["dim"]}; EmotionEncoder conditioning with classifier-free guidance; DDIM sampling.
- Data: {rows} utterances of the project's synthetic emotional speech corpus (`{args.manifest}`), each with
  {args.takes} procedural motion takes (visemes with Cohen-Massaro coarticulation from the corpus phone
  timings, EMFACS expression prototypes, blinks, head motion; see generators/face/procedural.py).
  No real talking-face data is used: the model learns the procedural motion's distribution, conditioned
  on audio features instead of phone timings, so it runs on any speech WAV.
- Command: `emotive train face --manifest {args.manifest} --work-dir WORK --steps {args.steps} --export DIR`
- Steps: {info["step"]} (batch {info["config"]["batch_size"]}, window {info["config"]["window"]} frames), validation x0 MSE {info.get("val_mse", float("nan")):.4f}.
- Held-out metrics (corpus rows outside the train split): {json.dumps(metrics)}
- Licences: code MIT (emotive). Training audio: emotive's synthetic corpus above (its voices and their licences:
  NOTICE.md "Speech"). No third-party weights.
"""
