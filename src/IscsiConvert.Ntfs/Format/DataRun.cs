namespace IscsiConvert.Ntfs.Format;

/// <summary>One run of a non-resident attribute: <see cref="Length"/> clusters from <see cref="Vcn"/> stored at
/// <see cref="Lcn"/>, or a hole (sparse run, reads as zeros) when <see cref="Lcn"/> is -1.</summary>
internal readonly struct DataRun
{
    public DataRun(long vcn, long lcn, long length)
    {
        Vcn = vcn;
        Lcn = lcn;
        Length = length;
    }

    public long Vcn { get; }

    public long Lcn { get; }

    public long Length { get; }

    public bool IsSparse => Lcn < 0;
}
