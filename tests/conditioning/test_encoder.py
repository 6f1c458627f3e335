import pytest
import torch

from emotive.conditioning import Emotion
from emotive.conditioning.encoder import (
    FEATURE_DIM,
    ConditionDropout,
    EmotionEncoder,
    emotion_features,
    guided,
)


def test_features_shape_and_values():
    f = emotion_features(["happy", Emotion.parse("sad:0.5")])
    assert f.shape == (2, FEATURE_DIM) and f.dtype == torch.float32
    assert f[0, 2] == 1.0 and f[1, -1] == 0.5


def test_encoder_shapes_and_null_path():
    torch.manual_seed(0)
    enc = EmotionEncoder(dim=16, hidden=32)
    out = enc(["happy", "angry", "quietly hopeful" if False else "calm"])
    assert out.shape == (3, 16)
    null = enc.null(3)
    assert null.shape == (3, 16)
    assert torch.equal(null[0], enc.null_embedding)
    mask = torch.tensor([True, False, True])
    dropped = enc(["happy", "angry", "calm"], drop_mask=mask)
    assert torch.equal(dropped[0], enc.null_embedding) and torch.equal(dropped[2], enc.null_embedding)
    assert torch.allclose(dropped[1], out[1])
    assert not torch.allclose(out[0], out[1])


def test_encoder_is_trainable_and_null_gets_gradients():
    enc = EmotionEncoder(dim=8, hidden=8)
    mask = torch.tensor([True, False])
    enc(["happy", "sad"], drop_mask=mask).sum().backward()
    assert enc.null_embedding.grad is not None and enc.null_embedding.grad.abs().sum() > 0
    assert enc.net[0].weight.grad is not None


def test_bad_feature_shape():
    with pytest.raises(ValueError):
        EmotionEncoder(dim=4)(torch.zeros(2, 5))


def test_condition_dropout_is_seeded_and_independent():
    a, b = ConditionDropout(0.3, seed=1), ConditionDropout(0.3, seed=1)
    torch.manual_seed(123)
    x = torch.rand(3)
    ma = a.mask(1000)
    torch.manual_seed(123)
    mb = b.mask(1000)
    assert torch.equal(ma, mb)
    assert torch.equal(x, (torch.manual_seed(123), torch.rand(3))[1])  # global RNG untouched by dropout
    assert 0.25 < ma.float().mean() < 0.35
    state = a.state_dict()
    m1 = a.mask(10)
    a.load_state_dict(state)
    assert torch.equal(a.mask(10), m1)
    with pytest.raises(ValueError):
        ConditionDropout(1.5)


def test_guidance():
    c, u = torch.ones(2), torch.zeros(2)
    assert torch.equal(guided(c, u, 1.0), c)
    assert torch.equal(guided(c, u, 0.0), u)
    assert torch.equal(guided(c, u, 3.0), 3 * c)
