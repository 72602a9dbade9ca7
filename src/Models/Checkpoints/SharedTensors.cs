using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Checkpoints;

/// <summary>
/// Finds the names of a state_dict that are one tensor (tied weights). TorchSharp hands out a new
/// wrapper per name, so object identity is not enough: two entries are tied when they have the same
/// device, dtype, shape and strides and start at the same address in memory.
/// </summary>
internal static class SharedTensors
{
    /// <summary>The names grouped by the memory they hold, each group and the groups in input order.</summary>
    public static List<(Tensor Tensor, List<string> Names)> Group(IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        var groups = new List<(Tensor Tensor, List<string> Names)>();
        foreach (var (name, tensor) in state)
        {
            var index = groups.FindIndex(g => SameMemory(g.Tensor, tensor));
            if (index >= 0) groups[index].Names.Add(name);
            else groups.Add((tensor, [name]));
        }
        return groups;
    }

    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> are views of the same elements.</summary>
    public static bool SameMemory(Tensor a, Tensor b)
    {
        if (ReferenceEquals(a, b) || a.Handle == b.Handle) return true;
        if (a.device_type != b.device_type || a.device_index != b.device_index || a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape) || !a.stride().SequenceEqual(b.stride()))
            return false;
        if (a.NumberOfElements == 0) return false; // nothing to share
        if (a.device_type == DeviceType.CPU && a.is_contiguous() && a.NumberOfElements * a.ElementSize <= int.MaxValue)
            return Unsafe.AreSame(ref MemoryMarshal.GetReference(a.bytes), ref MemoryMarshal.GetReference(b.bytes));
        if (a.device_type != DeviceType.CPU)
            return false; // TorchSharp 0.107 reads storage addresses through host memory only: a GPU copy is written once per name
        var (start, other) = (StorageStart(a), StorageStart(b));
        return start is not null && start == other;
    }

    /// <summary>
    /// The address of the first element on any device, through TorchSharp's typed storage, which
    /// 0.107 offers for these element types only; null for the others (they are then never tied).
    /// </summary>
    private static long? StorageStart(Tensor t)
    {
        using var scope = NewDisposeScope(); // storage<T>() makes an aliasing tensor
        long? basePointer = t.dtype switch
        {
            ScalarType.Float32 => t.storage<float>().data_ptr(),
            ScalarType.Float64 => t.storage<double>().data_ptr(),
            ScalarType.Int32 => t.storage<int>().data_ptr(),
            ScalarType.Int64 => t.storage<long>().data_ptr(),
            ScalarType.Byte => t.storage<byte>().data_ptr(),
            ScalarType.Bool => t.storage<bool>().data_ptr(),
            _ => null,
        };
        return basePointer + t.storage_offset() * t.ElementSize;
    }
}
