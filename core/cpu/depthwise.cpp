// CPU depthwise convolution (filled by the conv work).
