import RaqamCLI

RaqamCtl.main()
