"""`gpugrad train`: train an MLP or a small CNN on the built-in digits (or MNIST files)."""
import argparse
import os
import sys
import time

import numpy as np

OPTIMIZERS = ("sgd", "adam", "adamw")
DEFAULT_LR = {"mlp": {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3},
              "cnn": {"sgd": 0.05, "adam": 2e-3, "adamw": 2e-3}}
WARMUP_STEPS = 50


class _Parser(argparse.ArgumentParser):
    def error(self, message):   # one line and status 2, no usage dump
        self.exit(2, f"gpugrad: error: {message}\n")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser():
    parser = _Parser(prog="gpugrad", description="gpugrad: train neural networks on NumPy or CuPy")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train a model and report test accuracy")
    train.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    train.add_argument("--data-dir", help="folder with the MNIST IDX files (plain or .gz)")
    train.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    train.add_argument("--epochs", type=_positive_int, default=30, help="total epochs (also when resuming)")
    train.add_argument("--batch-size", type=_positive_int, default=32)
    train.add_argument("--lr", type=_positive_float, help="learning rate (default per optimizer)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument("--backend", choices=("auto", "numpy", "cupy"), help="overrides GPUGRAD_BACKEND")
    train.add_argument("--label-smoothing", type=float, default=0.1)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--checkpoint", default="gpugrad_checkpoint.safetensors",
                       help="where to write the checkpoint after every epoch")
    train.add_argument("--resume", help="continue from this checkpoint")
    train.add_argument("--plot", help="save loss and accuracy curves to this PNG")
    return parser


def build_model(name, input_shape, n_classes):
    from . import nn
    if name == "mlp":
        features = int(np.prod(input_shape))
        return nn.Sequential(nn.Flatten(), nn.LinearAct(features, 256, "relu"), nn.Dropout(0.2),
                             nn.LinearAct(256, 128, "relu"), nn.Dropout(0.2), nn.Linear(128, n_classes))
    channels, height, width = input_shape
    flat = 32 * (height // 4) * (width // 4)
    return nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.2), nn.LinearAct(flat, 64, "relu"), nn.Linear(64, n_classes))


def load_dataset(args):
    from . import data
    flatten = args.model == "mlp"
    if args.dataset == "digits":
        return data.load_digits(flatten=flatten)
    if not args.data_dir:
        raise ValueError("--dataset mnist needs --data-dir with the IDX files")
    if not os.path.isdir(args.data_dir):
        raise FileNotFoundError(f"data folder {args.data_dir!r} does not exist or is not a folder")
    return (data.load_mnist(args.data_dir, "train", flatten=flatten),
            data.load_mnist(args.data_dir, "test", flatten=flatten))


def evaluate(model, loader):
    import gpugrad as gg
    model.eval()
    correct = total = 0
    with gg.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(axis=1) == y).sum().item())
            total += len(y)
    model.train()
    return correct / total


def train(args):
    import gpugrad as gg
    from tqdm import tqdm
    from . import backend, data, nn, optim

    if args.backend:
        gg.set_backend(args.backend)
    gg.manual_seed(args.seed)
    train_set, test_set = load_dataset(args)
    sample_shape = train_set.x.shape[1:]
    model = build_model(args.model, sample_shape, int(train_set.y.max()) + 1)
    lr = args.lr or DEFAULT_LR[args.model][args.optimizer]
    optimizer = {"sgd": lambda p: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
                 "adam": lambda p: optim.Adam(p, lr=lr),
                 "adamw": lambda p: optim.AdamW(p, lr=lr, weight_decay=1e-2)}[args.optimizer](model.parameters())
    scheduler = optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=WARMUP_STEPS)
    train_loader = data.DataLoader(train_set, args.batch_size, shuffle=True, seed=args.seed)
    test_loader = data.DataLoader(test_set, 512)
    if not 0.0 <= args.label_smoothing < 1.0:
        raise ValueError(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
    config = {"model": args.model, "dataset": args.dataset, "optimizer": args.optimizer}
    history = {"loss": [], "accuracy": []}
    start_epoch = 0
    if args.resume:
        state = gg.load(args.resume)
        if state.get("config") != config:
            raise ValueError(f"checkpoint {args.resume!r} was trained with {state.get('config')}, not {config}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        backend.generator(np).bit_generator.state = state["rng"]
        start_epoch, history = state["epoch"], state["history"]

    print(f"gpugrad train: {args.model} on {args.dataset} ({len(train_set)} train / {len(test_set)} test), "
          f"{args.optimizer} lr={lr}, backend {gg.backend()}", flush=True)
    for epoch in range(start_epoch, args.epochs):
        train_loader.set_epoch(epoch)
        losses, started = [], time.perf_counter()
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False, file=sys.stderr,
                   dynamic_ncols=True, mininterval=0.5)
        for step, (x, y) in enumerate(bar):
            loss = nn.functional.cross_entropy(model(x), y, label_smoothing=args.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.detach())
            if step % 10 == 0:
                seen = (step + 1) * args.batch_size
                bar.set_postfix(loss=f"{loss.item():.4f}", samples_s=f"{seen / (time.perf_counter() - started):.0f}")
        epoch_loss = float(np.mean([float(v.item()) for v in losses]))
        accuracy = evaluate(model, test_loader)
        history["loss"].append(epoch_loss)
        history["accuracy"].append(accuracy)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {epoch_loss:.4f}  test accuracy {accuracy:.4f}  "
              f"({len(train_set) / (time.perf_counter() - started):.0f} samples/s)", flush=True)
        if args.checkpoint:
            gg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "epoch": epoch + 1, "history": history,
                     "rng": backend.generator(np).bit_generator.state, "config": config}, args.checkpoint)
    final = history["accuracy"][-1] if history["accuracy"] else evaluate(model, test_loader)
    print(f"test accuracy: {final:.4f}")
    if args.plot:
        save_curves(history, args.plot)
    return final


def save_curves(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = range(1, len(history["loss"]) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, history["loss"], marker="o")
    left.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    right.plot(epochs, history["accuracy"], marker="o", color="tab:green")
    right.set(title="test accuracy", xlabel="epoch", ylabel="accuracy")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        train(args)
    except (ValueError, FileNotFoundError, PermissionError, RuntimeError, KeyError) as exc:
        print(f"gpugrad: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
