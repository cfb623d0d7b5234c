"""Op families: importing this package registers every converter (see `_registry`)."""

from . import _registry  # noqa: F401

# nn families (conv/norm/activation/pooling/softmax incl. loss heads and identity roles)
from . import activation, conv, norm, pooling, softmax  # noqa: F401,E402

# tensor families (shape/indexing/resampling, arithmetic, reductions, 2.x numpy ops, misc)
from . import arith, misc, npx, reduce, shape  # noqa: E402,F401

# sequence families (fused RNN, attention and masks, control flow)
from . import attention, control, rnn  # noqa: E402,F401
