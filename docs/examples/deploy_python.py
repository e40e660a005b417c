#!/usr/bin/env python3
"""Classifies Fashion-MNIST test images with an ExitScope export, no ExitScope code (docs/deploy.md).
usage: python3 deploy_python.py MODEL-ee.pt [t10k-images-idx3-ubyte.gz]"""
import gzip, sys
import torch

model = torch.jit.load(sys.argv[1]).eval()
path = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
raw = gzip.open(path).read()[16:16 + 256 * 784]                    # the first 256 images, IDX layout
x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(256, *model.input_shape).float() / 255.0
with torch.no_grad():
    prediction, exit_index, score = model(x)                        # each [256], in input order
names = list(model.class_names)
for i in range(3):
    print("image %d: %s, left at exit %d (score %.3f)" % (i, names[prediction[i]], exit_index[i], score[i]))
print("exits used:", torch.bincount(exit_index, minlength=len(model.exit_macs)).tolist())
model.set_thresholds([0.99])                                        # stricter, without exporting again
with torch.no_grad():
    print("with 0.99 everywhere:", torch.bincount(model(x)[1], minlength=len(model.exit_macs)).tolist())
