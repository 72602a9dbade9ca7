using System.Buffers.Binary;
using System.Text;
using Pipelines.Models.Checkpoints;
using static TorchSharp.torch;
using static Pipelines.Models.Tests.Checkpoints.SafeTensorsTestFiles;

namespace Pipelines.Models.Tests.Checkpoints;

[TestClass]
public sealed class SafeTensorsRoundTripTests
{
    private string TempPath(string name)
    {
        var directory = Path.Combine(Path.GetTempPath(), "pipelines-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, name);
    }

    /// <summary>One tensor of each dtype, with awkward values (NaN, -0, infinities, extremes), scalars and empties.</summary>
    private static Dictionary<string, Tensor> EveryDType()
    {
        random.manual_seed(7);
        var specials = tensor(new[] { float.NaN, -0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, 1e-40f, float.MaxValue, -1.5f });
        return new()
        {
            ["f32"] = randn(3, 4),
            ["f32.specials"] = specials,
            ["f16"] = cat([randn(5), specials]).to_type(ScalarType.Float16),
            ["bf16"] = cat([randn(5), specials]).to_type(ScalarType.BFloat16),
            ["f64"] = randn(2, 3, dtype: ScalarType.Float64),
            ["i64"] = tensor(new[] { long.MinValue, -1L, 0L, long.MaxValue }),
            ["i32"] = tensor(new[] { int.MinValue, -7, 0, int.MaxValue }).reshape(2, 2),
            ["i16"] = tensor(new short[] { short.MinValue, 3, short.MaxValue }),
            ["i8"] = tensor(new sbyte[] { sbyte.MinValue, 0, sbyte.MaxValue }),
            ["u8"] = tensor(new byte[] { 0, 128, 255 }),
            ["bool"] = tensor(new[] { true, false, true, true }).reshape(2, 2),
            ["c64"] = randn(3, dtype: ScalarType.ComplexFloat32),
            ["scalar.f32"] = tensor(3.25f),
            ["scalar.i64"] = tensor(-42L),
            ["scalar.bool"] = tensor(true),
            ["scalar.bf16"] = tensor(0.1f).to_type(ScalarType.BFloat16),
            ["empty.f32"] = zeros(0, 3),
            ["empty.i64"] = zeros(new long[] { 2, 0, 4 }, ScalarType.Int64),
            ["empty.1d.bool"] = zeros(new long[] { 0 }, ScalarType.Bool),
        };
    }

    private static void AssertSame(Dictionary<string, Tensor> expected, SafeTensorsFile file)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), file.Names.ToList());
        foreach (var (name, tensor) in expected)
        {
            var entry = file[name];
            Assert.AreEqual(tensor.dtype, entry.Tensor.dtype, name);
            CollectionAssert.AreEqual(tensor.shape, entry.Tensor.shape, name);
            CollectionAssert.AreEqual(tensor.shape, entry.Shape.ToArray(), name);
            Assert.AreEqual(TorchSharp.DeviceType.CPU, entry.Tensor.device_type, name);
            CollectionAssert.AreEqual(Bytes(tensor), Bytes(entry.Tensor), $"bytes of {name}");
        }
    }

    [TestMethod]
    public void EveryDTypeScalarAndEmptyTensorRoundTripsBitExactThroughAFile()
    {
        using var scope = NewDisposeScope();
        var tensors = EveryDType();
        var path = TempPath("all.safetensors");
        SafeTensors.Save(path, tensors);
        using var file = SafeTensors.Read(path);
        AssertSame(tensors, file);
        Assert.AreEqual("BF16", file["bf16"].DType);
        Assert.AreEqual("BOOL", file["scalar.bool"].DType);
        Assert.HasCount(0, file["scalar.f32"].Shape);
        Assert.IsEmpty(file.Metadata);
    }

    [TestMethod]
    public void RoundTripsThroughAStreamThatCannotSeek()
    {
        using var scope = NewDisposeScope();
        var tensors = EveryDType();
        var buffer = new MemoryStream();
        SafeTensors.Save(buffer, tensors);
        using var file = SafeTensors.Read(new ForwardOnlyStream(buffer.ToArray()));
        AssertSame(tensors, file);
    }

    [TestMethod]
    public void MetadataIsWrittenAndRead()
    {
        using var scope = NewDisposeScope();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\" \\ \n line", ["empty"] = "" };
        var stream = new MemoryStream();
        SafeTensors.Save(stream, [new("w", ones(2))], metadata);
        stream.Position = 0;
        using var file = SafeTensors.Read(stream);
        CollectionAssert.AreEquivalent(metadata.ToList(), file.Metadata.ToList());
    }

    [TestMethod]
    public void TheBytesAreThoseTheSpecificationPrescribes()
    {
        // Worked out by hand from the format's description: tensors sorted by element size, largest
        // first, then by name; compact JSON with __metadata__ first; spaces up to a multiple of 8;
        // data little-endian and back to back.
        using var scope = NewDisposeScope();
        var stream = new MemoryStream();
        SafeTensors.Save(stream, [new("c", tensor(new[] { true })), new("a", tensor(new[] { 1f, 2f })), new("b", tensor(7L))],
            new Dictionary<string, string> { ["k"] = "v" });

        var json = """{"__metadata__":{"k":"v"},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"c":{"dtype":"BOOL","shape":[1],"data_offsets":[16,17]}}""";
        var header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        byte[] data = [7, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, 1];
        CollectionAssert.AreEqual(Build(header, data), stream.ToArray());
    }

    [TestMethod]
    public void HeadersArePaddedSoThatDataStartsEightByteAligned()
    {
        using var scope = NewDisposeScope();
        for (var nameLength = 1; nameLength <= 9; nameLength++)
        {
            var stream = new MemoryStream();
            SafeTensors.Save(stream, [new(new string('x', nameLength), zeros(1))]);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(stream.ToArray());
            Assert.AreEqual(0UL, headerLength % 8, $"name of {nameLength} characters");
            Assert.AreEqual((byte)'{', stream.ToArray()[8]);
        }
    }

    [TestMethod]
    public void HeaderOrderNeedNotBeDataOrder()
    {
        // Other writers list tensors in any order; the reader follows the offsets.
        using var scope = NewDisposeScope();
        var file = Build(Encoding.UTF8.GetBytes("""{"first":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"second":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"extra":{"dtype":"U8","shape":[0],"data_offsets":[2,2],"ignored":true}}"""),
            [10, 20]);
        using var read = SafeTensors.Read(new MemoryStream(file));
        CollectionAssert.AreEqual(new[] { "second", "first", "extra" }, read.Names.ToArray());
        Assert.AreEqual((byte)20, read["first"].Tensor.item<byte>());
        Assert.AreEqual((byte)10, read["second"].Tensor.item<byte>());
    }

    [TestMethod]
    public void NonContiguousTensorsAreWrittenInRowMajorOrder()
    {
        using var scope = NewDisposeScope();
        var source = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        var transposed = source.t();
        var stream = new MemoryStream();
        SafeTensors.Save(stream, [new("t", transposed)]);
        stream.Position = 0;
        using var file = SafeTensors.Read(stream);
        CollectionAssert.AreEqual(new long[] { 4, 3 }, file["t"].Tensor.shape);
        Assert.IsTrue(file["t"].Tensor.equal(transposed).all().item<bool>());
    }

    [TestMethod]
    public void SaveReplacesTheFileAtomicallyAndLeavesNoTemporaryFile()
    {
        using var scope = NewDisposeScope();
        var path = TempPath("model.safetensors");
        SafeTensors.Save(path, [new("a", ones(3))]);
        SafeTensors.Save(path, [new("b", zeros(2))]);
        using (var file = SafeTensors.Read(path)) CollectionAssert.AreEqual(new[] { "b" }, file.Names.ToArray());

        var before = File.ReadAllBytes(path);
        Assert.ThrowsExactly<ArgumentException>(() => SafeTensors.Save(path, [new("b", ones(1)), new("b", ones(1))]));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path), "a failed save leaves the old file");
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(Path.GetDirectoryName(path)!), "no temporary file is left");
    }

    [TestMethod]
    public void SaveRejectsRepeatedAndReservedNamesAndTypesTheFormatLacks()
    {
        using var scope = NewDisposeScope();
        var stream = new MemoryStream();
        var repeated = Assert.ThrowsExactly<ArgumentException>(() => SafeTensors.Save(stream, [new("w", ones(1)), new("w", ones(1))]));
        Assert.Contains("'w'", repeated.Message);
        var reserved = Assert.ThrowsExactly<ArgumentException>(() => SafeTensors.Save(stream, [new("__metadata__", ones(1))]));
        Assert.Contains("reserved", reserved.Message);
        var complex128 = Assert.ThrowsExactly<ArgumentException>(() => SafeTensors.Save(stream, [new("z", ones(1, dtype: ScalarType.ComplexFloat64))]));
        Assert.Contains("'z'", complex128.Message);
    }

    [TestMethod]
    public void DisposingTheFileFreesItsTensors()
    {
        var stream = new MemoryStream();
        using (var t = ones(2)) SafeTensors.Save(stream, [new("w", t)]);
        stream.Position = 0;
        var file = SafeTensors.Read(stream);
        var tensor = file["w"].Tensor;
        file.Dispose();
        Assert.IsTrue(tensor.IsInvalid);
        Assert.ThrowsExactly<KeyNotFoundException>(() => _ = file["missing"]);
    }

    /// <summary>A stream that reads forwards only, as a network or zip entry stream does.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 7));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
