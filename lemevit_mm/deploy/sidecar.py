"""The sidecar of an exported model: a JSON file beside ``model.onnx``
that says everything the scene pipeline needs to run it without the
config (what :class:`~lemevit_mm.apis.scene.ModelInfo` holds: task,
classes, palette, mean/std and channel order, bands, tile, overlap,
score threshold, ...), plus where it came from (package version,
checkpoint SHA-256, export date) and how to run the graph (input and
output names, what runs after it).

Numpy and the standard library only: a deploy-only environment reads it.
"""
import datetime
import hashlib
import json
import os.path as osp
from typing import Any, Dict, Optional

__all__ = [
    'SIDECAR_FORMAT', 'sidecar_path', 'sha256_of', 'write_sidecar',
    'read_sidecar', 'SidecarError'
]

# Bumped when the meaning of a field changes.
SIDECAR_FORMAT = 1


class SidecarError(ValueError):
    """The sidecar of an exported model is missing or unreadable."""


def sidecar_path(model_path: str) -> str:
    """``model.onnx`` -> ``model.json`` (beside it; an OpenVINO
    ``model.xml`` has the same one)."""
    return osp.splitext(model_path)[0] + '.json'


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, in hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def write_sidecar(model_path: str, info: Dict[str, Any],
                  deploy: Dict[str, Any],
                  checkpoint: Optional[str] = None) -> str:
    """Write the sidecar of ``model_path`` atomically.

    Args:
        model_path (str): The exported model.
        info (dict): ``ModelInfo.to_dict()`` of the model.
        deploy (dict): How to run the graph (inputs, outputs, post
            processing); stored as ``info['extra']['deploy']`` with the
            provenance.
        checkpoint (str, optional): The weights exported (hashed).

    Returns:
        str: The sidecar's path.
    """
    from ..io.atomic import write_text
    from ..version import __version__
    info = json.loads(json.dumps(info))  # a plain copy
    extra = dict(info.get('extra') or {})
    record = dict(deploy)
    record.update(
        format=SIDECAR_FORMAT,
        model_file=osp.basename(model_path),
        model_sha256=sha256_of(model_path),
        lemevit_mm_version=__version__,
        exported_utc=datetime.datetime.now(
            datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))
    if checkpoint is not None:
        record.update(checkpoint=osp.basename(checkpoint),
                      checkpoint_sha256=sha256_of(checkpoint))
    extra['deploy'] = record
    info['extra'] = extra
    info['origin'] = osp.basename(model_path)
    path = sidecar_path(model_path)
    write_text(path, json.dumps(info, indent=1) + '\n')
    return path


def read_sidecar(model_path: str) -> Dict[str, Any]:
    """The sidecar of ``model_path`` as a dict (``ModelInfo`` fields,
    the deploy record in ``['extra']['deploy']``).

    Raises:
        SidecarError: No sidecar, unreadable JSON, or not one of an
            exported model.
    """
    path = sidecar_path(model_path)
    if not osp.isfile(path):
        raise SidecarError(
            f'{model_path}: its sidecar {osp.basename(path)} is missing '
            '(tools/deployment/export_onnx.py writes it beside the model; '
            'copy both).')
    try:
        with open(path, encoding='utf-8') as file:
            info = json.load(file)
    except (OSError, ValueError) as error:
        raise SidecarError(f'{path}: cannot read the sidecar: {error}') \
            from None
    deploy = (info.get('extra') or {}).get('deploy') \
        if isinstance(info, dict) else None
    if not isinstance(deploy, dict) or 'inputs' not in deploy:
        raise SidecarError(
            f'{path}: not the sidecar of an exported lemevit-mm model (no '
            'extra.deploy record).')
    if int(deploy.get('format', 0)) > SIDECAR_FORMAT:
        raise SidecarError(
            f'{path}: sidecar format {deploy["format"]} is newer than this '
            f'lemevit-mm reads ({SIDECAR_FORMAT}); update the package.')
    return info
