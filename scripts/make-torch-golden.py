#!/usr/bin/env python3
"""Writes the PyTorch golden files that tests/engine/torch-parity.test.ts compares pyocyte with.

For a few small fixed U-Nets (the reference implementation in shared/bench/torch_unet.py) it
records, per configuration, one safetensors file under tests/golden/:

  param.<name>, buffer.<name>   the initial state_dict (num_batches_tracked left out)
  input [N, 3, H, W], target [N, H, W] (class indices as F32)
  logits [N, K, H, W]           training-mode forward
  loss [3]                      total, cross-entropy term, Dice term (torch_unet.py's training loss)
  grad.<name>                   every parameter's gradient after loss.backward()
  after.<name>                  BatchNorm running statistics after the training-mode forward

The network runs in float64 from float32-representable initial values, so the files hold the
exact answer rounded once to float32 and pyocyte's float32 error is all that the test measures.
Run with Debian's python, which has torch:

  /usr/bin/python3 scripts/make-torch-golden.py [--torch-unet ../shared/bench/torch_unet.py] [--out tests/golden]
"""
import argparse
import importlib.util
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIGS = {
    'unet-binary-bn': dict(classes=1, bn=True, seed=1),
    'unet-multiclass-bn': dict(classes=3, bn=True, seed=2),
    'unet-binary-nobn': dict(classes=1, bn=False, seed=3),
}
DEPTH, FILTERS, SHAPE = 2, 4, (2, 3, 16, 16)


def load_reference(path):
    """Imports torch_unet.py from a path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location('torch_unet', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_safetensors(path, tensors, metadata):
    """safetensors by hand: u64 header length, JSON header padded to 8 bytes, little-endian F32 data."""
    header = {'__metadata__': metadata}
    blobs, offset = [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(array.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text.encode('utf-8'))
        for blob in blobs:
            f.write(blob)


def make(reference, name, classes, bn, seed):
    torch.manual_seed(seed)
    model = reference.UNet(3, classes, FILTERS, DEPTH, bn)
    # BatchNorm starts at gamma 1, beta 0, mean 0, var 1; move them so their gradients and the
    # running-statistics update are not trivially symmetric.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.copy_(1 + 0.2 * torch.randn_like(module.weight))
                module.bias.copy_(0.1 * torch.randn_like(module.bias))
                module.running_mean.copy_(0.1 * torch.randn_like(module.running_mean))
                module.running_var.copy_(1 + 0.2 * torch.rand_like(module.running_var))
    initial = {k: v.detach().float().clone() for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
    x = torch.randn(*SHAPE)
    y = torch.randint(0, max(classes, 2), (SHAPE[0], SHAPE[2], SHAPE[3]))

    model = model.double().train()
    out = model(x.double())
    # torch_unet.py's training loss, term by term.
    ce = F.binary_cross_entropy_with_logits(out[:, 0], y.double()) if classes == 1 else F.cross_entropy(out, y)
    dice = reference.dice_loss(out, y, classes)
    loss = ce + dice
    model.zero_grad()
    loss.backward()

    tensors = {}
    parameters = dict(model.named_parameters())
    for key, value in initial.items():
        tensors[('param.' if key in parameters else 'buffer.') + key] = value.numpy()
    tensors['input'] = x.numpy()
    tensors['target'] = y.float().numpy()
    tensors['logits'] = out.detach().float().numpy()
    tensors['loss'] = np.array([loss.item(), ce.item(), dice.item()], dtype=np.float32)
    for key, p in parameters.items():
        tensors['grad.' + key] = p.grad.float().numpy()
    for key, value in model.state_dict().items():
        if 'running_' in key:
            tensors['after.' + key] = value.float().numpy()
    metadata = {
        'config': json.dumps(dict(inChannels=3, classes=classes, depth=DEPTH, filters=FILTERS, norm='batch' if bn else 'none',
                                  padding='same', inputShape=list(SHAPE), seed=seed)),
        'loss': 'bce_with_logits + dice_loss' if classes == 1 else 'cross_entropy + dice_loss',
        'torch': torch.__version__,
        'generator': 'scripts/make-torch-golden.py',
    }
    return tensors, metadata


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--torch-unet', default=os.path.join(REPO, '..', 'shared', 'bench', 'torch_unet.py'),
                        help='path of the reference torch_unet.py (default: ../shared/bench/torch_unet.py)')
    parser.add_argument('--out', default=os.path.join(REPO, 'tests', 'golden'), help='output folder')
    args = parser.parse_args()
    if not os.path.exists(args.torch_unet):
        sys.exit(f'{args.torch_unet} not found; pass --torch-unet PATH')
    reference = load_reference(args.torch_unet)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for name, config in CONFIGS.items():
        tensors, metadata = make(reference, name, **config)
        path = os.path.join(args.out, name + '.safetensors')
        write_safetensors(path, tensors, metadata)
        print(f'{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes, loss {tensors["loss"][0]:.6f}')


if __name__ == '__main__':
    main()
