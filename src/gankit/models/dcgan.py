"""DCGAN generator and discriminator (Radford et al. 2015, Sec. 3) for square power-of-two images."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from gankit import arguments
from gankit.errors import BadArgument, ConfigError
from gankit.models.heads import linear_head
from gankit.models.init import dcgan_init

NormFactory = Callable[[int], nn.Module]
SIZES = (16, 32, 64, 128)


def image_geometry(data_shape: Sequence[int]) -> tuple[int, int, int]:
    """(channels, size, doublings from 4x4 to size) for a [C, S, S] shape, or a ConfigError."""
    shape = [int(s) for s in data_shape]
    if len(shape) != 3:
        raise BadArgument("data_shape", f"model=dcgan needs image data of shape [C, H, W], {{key}} is {shape}; "
                                        "use model=mlp for vector data")
    channels, height, width = shape
    if height != width or height not in SIZES:
        raise ConfigError(
            f"model=dcgan builds square images of size {', '.join(map(str, SIZES))}, "
            f"got {height}x{width}; choose an image size among these"
        )
    return channels, height, height.bit_length() - 3  # log2(size) - 2


def _norm(norm: NormFactory | None, channels: int) -> nn.Module:
    return arguments.call("norm", norm, channels) if norm else nn.Identity()


class DCGANGenerator(nn.Module):
    """z [B, latent_dim] -> images [B, C, S, S] in [-1, 1]: 4x4 projection, then stride-2 upsamplings."""

    def __init__(
        self,
        latent_dim: int,
        data_shape: Sequence[int],
        width: int = 64,
        norm: NormFactory | None = nn.BatchNorm2d,
    ):
        super().__init__()
        channels, _, doublings = image_geometry(data_shape)
        self.latent_dim = arguments.integer("latent_dim", latent_dim, at_least=1)
        width, norm = arguments.integer("width", width, at_least=1), arguments.factory("norm", norm)
        ch = width * 2 ** (doublings - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(self.latent_dim, ch, 4, 1, 0, bias=False),  # [B, ch, 4, 4]
            _norm(norm, ch),
            nn.ReLU(),
        ]
        for _ in range(doublings - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), _norm(norm, ch // 2)]
            layers.append(nn.ReLU())
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]  # no norm on the output
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """images [B, C, S, S] -> (logits [B], 4x4 features flattened [B, 16 * width * 2^(n-1)])."""

    def __init__(
        self,
        data_shape: Sequence[int],
        width: int = 64,
        norm: NormFactory | None = nn.BatchNorm2d,
        head: Callable[[int], nn.Module] = linear_head,
    ):
        super().__init__()
        channels, size, _ = image_geometry(data_shape)
        width, norm, head = arguments.integer("width", width, at_least=1), arguments.factory("norm", norm), \
            arguments.factory("head", head)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch, size = width, size // 2  # no norm on the input layer
        while size > 4:  # a bias only without a norm (BatchNorm's shift makes it redundant)
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm is None), _norm(norm, ch * 2)]
            layers.append(nn.LeakyReLU(0.2))
            ch, size = ch * 2, size // 2
        layers.append(nn.Flatten())
        self.body = nn.Sequential(*layers)
        self.feature_dim = ch * 16
        self.head = arguments.call("head", head, self.feature_dim)  # a linear head equals DCGAN's final 4x4 convolution
        self.apply(dcgan_init)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)  # [B, F]
        return self.head(features).squeeze(-1), features
