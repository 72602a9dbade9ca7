using System.Buffers.Binary;
using System.Text;
using Pipelines.Models.Checkpoints;

namespace Pipelines.Models.Tests.Checkpoints;

/// <summary>Builds safetensors files byte by byte, so that tests control every field.</summary>
internal static class SafeTensorsTestFiles
{
    /// <summary>8-byte little-endian length, the header, then the data.</summary>
    public static byte[] Build(byte[] header, byte[] data, ulong? declaredHeaderLength = null)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredHeaderLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    public static byte[] Build(string header, int dataLength) => Build(Encoding.UTF8.GetBytes(header), new byte[dataLength]);

    /// <summary>Reads <paramref name="file"/> and asserts it is rejected with a message containing every fragment.</summary>
    public static void AssertRejected(byte[] file, params string[] fragments)
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafeTensors.Read(new MemoryStream(file)).Dispose());
        foreach (var fragment in fragments)
            Assert.Contains(fragment, e.Message, $"message: {e.Message}");
    }

    public static byte[] Bytes(TorchSharp.torch.Tensor tensor)
    {
        using var contiguous = tensor.contiguous();
        return contiguous.bytes.ToArray();
    }
}
