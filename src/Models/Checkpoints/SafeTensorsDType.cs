using static TorchSharp.torch;

namespace Pipelines.Models.Checkpoints;

/// <summary>
/// The element types of the safetensors format and the TorchSharp types they map to. The format
/// names more types than TorchSharp 0.107 holds (unsigned 16/32/64-bit, 8-, 6- and 4-bit floats);
/// a file using one of those is refused with a message that says so.
/// </summary>
internal sealed record SafeTensorsDType(string Name, ScalarType? Type, int Size, int Rank)
{
    // Rank is the position in the reference implementation's dtype enumeration, which is ordered
    // by alignment; writers put higher ranks first so that every tensor starts aligned to its size.
    private static readonly SafeTensorsDType[] All =
    [
        new("BOOL", ScalarType.Bool, 1, 0),
        new("F4", null, 0, 1),
        new("F6_E2M3", null, 0, 2),
        new("F6_E3M2", null, 0, 3),
        new("U8", ScalarType.Byte, 1, 4),
        new("I8", ScalarType.Int8, 1, 5),
        new("F8_E5M2", null, 1, 6),
        new("F8_E4M3", null, 1, 7),
        new("F8_E8M0", null, 1, 8),
        new("F8_E4M3FNUZ", null, 1, 9),
        new("F8_E5M2FNUZ", null, 1, 10),
        new("I16", ScalarType.Int16, 2, 11),
        new("U16", null, 2, 12),
        new("F16", ScalarType.Float16, 2, 13),
        new("BF16", ScalarType.BFloat16, 2, 14),
        new("I32", ScalarType.Int32, 4, 15),
        new("U32", null, 4, 16),
        new("F32", ScalarType.Float32, 4, 17),
        new("C64", ScalarType.ComplexFloat32, 8, 18),
        new("F64", ScalarType.Float64, 8, 19),
        new("I64", ScalarType.Int64, 8, 20),
        new("U64", null, 8, 21),
    ];

    private static readonly Dictionary<string, SafeTensorsDType> ByName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);
    private static readonly Dictionary<ScalarType, SafeTensorsDType> ByType =
        All.Where(d => d.Type is not null).ToDictionary(d => d.Type!.Value);

    /// <summary>The type named <paramref name="name"/> in a header, or null when the format has no such name.</summary>
    public static SafeTensorsDType? FromName(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The type a TorchSharp tensor is written as, or null when the format cannot hold it.</summary>
    public static SafeTensorsDType? FromScalarType(ScalarType type) => ByType.GetValueOrDefault(type);

    /// <summary>The names TorchSharp can read, for messages.</summary>
    public static string Readable => string.Join(", ", All.Where(d => d.Type is not null).Select(d => d.Name));

    /// <summary>A TorchSharp type in the format's spelling where it has one (for messages).</summary>
    public static string Describe(ScalarType type) => FromScalarType(type)?.Name ?? type.ToString();
}
