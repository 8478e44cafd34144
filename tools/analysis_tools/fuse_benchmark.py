"""Before/after check of a backbone change, in one process.

Loads the LeMeViT backbone and its fast inference path of a git revision
(``--rev``, default HEAD) into a temporary package beside the working
tree's, gives both the same weights, and

1. checks that their outputs are bitwise equal on the plain path
   (autograd on), the fused path (no grad), under bf16 autocast, and in
   training (drop path active, same random draws; also the gradients),
   with every stage trained and with frozen stages;
2. times both on the same input, alternating them round by round (the
   machine may be shared: the medians of many short rounds), in eval
   mode without autograd (the fast path on), and prints a table.

Example::

    python tools/analysis_tools/fuse_benchmark.py --batch 8 --rounds 9
"""
import argparse
import atexit
import datetime
import importlib
import importlib.util
import os.path as osp
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

import lemevit_mm  # noqa: F401
from lemevit_mm.models import LeMeViT
from lemevit_mm.models.utils import fast_inference

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BACKBONE = 'lemevit_mm/models/backbones/lemevit.py'
FAST_PATH = 'lemevit_mm/models/utils/fast_inference.py'
PACKAGE = 'lemevit_before'


def git_show(rev: str, path: str) -> str:
    """The text of ``path`` at ``rev``."""
    return subprocess.run(['git', 'show', f'{rev}:{path}'], cwd=REPO,
                          check=True, capture_output=True,
                          text=True).stdout


def absolute_imports(source: str, package: str) -> str:
    """Relative imports of a module of ``package`` (dotted) made
    absolute, so that the text imports from outside the tree."""
    parents = package.split('.')

    def absolute(match: re.Match) -> str:
        indent, dots, rest = match.group(1), len(match.group(2)), \
            match.group(3)
        base = '.'.join(parents[:len(parents) - dots + 1])
        return f'{indent}from {base}{"." + rest if rest else ""} import'

    return re.sub(r'^(\s*)from (\.+)([\w.]*) import', absolute, source,
                  flags=re.M)


def load_revision(rev: str):
    """The backbone module of ``rev`` with its own fast path, as
    ``lemevit_before.lemevit`` (not registered in MODELS)."""
    folder = tempfile.mkdtemp(prefix='lemevit_before_')
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    fast = absolute_imports(git_show(rev, FAST_PATH),
                            'lemevit_mm.models.utils')
    # its custom operator under a name of its own
    fast = fast.replace("'lemevit::", f"'{PACKAGE}::")
    backbone = absolute_imports(git_show(rev, BACKBONE),
                                'lemevit_mm.models.backbones').replace(
        'from lemevit_mm.models.utils import fast_inference',
        f'from {PACKAGE} import fast_inference')
    backbone = backbone.replace('@MODELS.register_module()\n', '')
    for name, text in (('__init__', ''), ('fast_inference', fast),
                       ('lemevit', backbone)):
        with open(osp.join(folder, f'{name}.py'), 'w') as file:
            file.write(text)
    spec = importlib.util.spec_from_file_location(
        PACKAGE, osp.join(folder, '__init__.py'),
        submodule_search_locations=[folder])
    sys.modules[PACKAGE] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sys.modules[PACKAGE])
    return importlib.import_module(f'{PACKAGE}.lemevit')


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-zero biases and batch-norm statistics, so that a wrong fold
    shows."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.bias.data.normal_(0, 0.2, generator=generator)
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
    return model


def pair(before, arch: str, **kwargs) -> Tuple[nn.Module, nn.Module]:
    """The old and the new backbone with the same weights."""
    new = randomise(LeMeViT(arch, **kwargs))
    old = before.LeMeViT(arch, **kwargs)
    if list(old.state_dict()) != list(new.state_dict()):
        raise SystemExit('error: the state dict keys differ between the '
                         'revisions')
    old.load_state_dict(new.state_dict())
    return old, new


def outputs_equal(old_out: Sequence[torch.Tensor],
                  new_out: Sequence[torch.Tensor]) -> bool:
    return len(old_out) == len(new_out) and all(
        a.dtype == b.dtype and torch.equal(a.detach(), b.detach())
        for a, b in zip(old_out, new_out))


def parity(before, arch: str, size: int) -> List[Tuple[str, bool]]:
    """Bitwise equality of outputs (and gradients) on every path."""
    x = torch.randn(2, 3, size, size)
    rows = []
    old, new = pair(before, arch, out_meta_tokens=True)
    old.eval(), new.eval()
    with torch.no_grad():
        rows.append(('fused (eval, no grad, fp32)',
                     outputs_equal(old(x), new(x))))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            rows.append(('fused, bf16 autocast',
                         outputs_equal(old(x), new(x))))
    rows.append(('plain (eval, autograd on)', outputs_equal(old(x), new(x))))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        rows.append(('plain, bf16 autocast', outputs_equal(old(x), new(x))))
    for label, kwargs in (
            ('training, drop path 0.2', dict(drop_path_rate=0.2)),
            ('training, frozen_stages=1',
             dict(frozen_stages=1, drop_path_rate=0.1))):
        old, new = pair(before, arch, **kwargs)
        outs = []
        for model in (old, new):
            model.train()
            torch.manual_seed(3)
            out = model(x)
            sum(o.float().square().mean() for o in out).backward()
            grads = [p.grad for p in model.parameters()
                     if p.grad is not None]
            outs.append((out, grads))
        rows.append((label, outputs_equal(outs[0][0], outs[1][0])
                     and outputs_equal(outs[0][1], outs[1][1])))
        with torch.no_grad():
            torch.manual_seed(4)
            train_old = old(x)
            torch.manual_seed(4)
            rows.append((label + ', no grad',
                         outputs_equal(train_old, new(x))))
    return rows


def throughput(models: Dict[str, nn.Module], x: torch.Tensor, rounds: int,
               iters: int) -> Dict[str, List[float]]:
    """Images per second of each model per round, the order of the
    models alternating from round to round."""
    names = list(models)
    speeds: Dict[str, List[float]] = {name: [] for name in names}
    with torch.no_grad():
        for name in names:  # warm-up
            models[name](x)
        for index in range(rounds):
            for name in (names if index % 2 == 0 else names[::-1]):
                start = time.perf_counter()
                for _ in range(iters):
                    models[name](x)
                elapsed = time.perf_counter() - start
                speeds[name].append(x.shape[0] * iters / elapsed)
    return speeds


def cpu_name() -> str:
    try:
        for line in subprocess.run(['lscpu'], capture_output=True,
                                   text=True).stdout.splitlines():
            if line.startswith('Model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def table(rows: List[List[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ['| ' + ' | '.join(cell.ljust(width) for cell, width in
                               zip(row, widths)) + ' |' for row in rows]
    lines.insert(1, '|' + '|'.join('-' * (width + 2) for width in widths)
                 + '|')
    return '\n'.join(lines)


def main(argv: Sequence[str] = None) -> None:
    parser = argparse.ArgumentParser(
        description='Bitwise parity and speed of the LeMeViT backbone of a '
        'git revision against the working tree, in one process.')
    parser.add_argument('--rev', default='HEAD',
                        help='git revision of "before" (default: HEAD)')
    parser.add_argument('--arch', default='tiny')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--rounds', type=int, default=9,
                        help='timed rounds per model (median reported)')
    parser.add_argument('--iters', type=int, default=2,
                        help='forward passes per round')
    parser.add_argument('--parity-size', type=int, default=64,
                        help='input size of the parity checks')
    parser.add_argument('--skip-parity', action='store_true')
    args = parser.parse_args(argv)
    before = load_revision(args.rev)
    print(f'before: {args.rev} ({BACKBONE}, {FAST_PATH}); after: the '
          'working tree')
    print(f'{cpu_name()}, {torch.get_num_threads()} threads, torch '
          f'{torch.__version__}, oneDNN fused kernels: '
          f'{fast_inference.ONEDNN}, '
          f'{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} '
          'UTC')
    failed = False
    if not args.skip_parity:
        rows = [['path', 'outputs (and grads) bitwise equal']]
        for label, equal in parity(before, args.arch, args.parity_size):
            rows.append([label, 'yes' if equal else 'NO'])
            failed |= not equal
        print(table(rows))
    old, new = pair(before, args.arch)
    models: Dict[str, Callable] = {'before': old.eval(), 'after': new.eval()}
    x = torch.randn(args.batch, 3, args.size, args.size)
    speeds = throughput(models, x, args.rounds, args.iters)
    medians = {name: statistics.median(values)
               for name, values in speeds.items()}
    rows = [['backbone', 'img/s median', 'min', 'max', 'after / before']]
    for name, values in speeds.items():
        rows.append([name, f'{medians[name]:.2f}', f'{min(values):.2f}',
                     f'{max(values):.2f}',
                     f'{medians[name] / medians["before"]:.3f}'])
    print(f'LeMeViT-{args.arch}, batch {args.batch}, {args.size}x'
          f'{args.size}, fp32, eval, no grad (fast path on), '
          f'{args.rounds} alternating rounds of {args.iters} passes:')
    print(table(rows))
    if failed:
        sys.exit('error: outputs differ between the revisions')


if __name__ == '__main__':
    main()
